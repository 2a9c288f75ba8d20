import type { ServiceEndpoint } from '../service-endpoint.interface.js';
import type { LoadBalancingStrategy } from './load-balancing-strategy.js';

/** Uniform choice. `random` (default Math.random) can be seeded for tests and simulations. */
export class RandomStrategy implements LoadBalancingStrategy {
  constructor(private readonly random: () => number = Math.random) {}

  pick(endpoints: readonly ServiceEndpoint[]): ServiceEndpoint | undefined {
    if (endpoints.length === 0) return undefined;
    return endpoints[Math.min(endpoints.length - 1, Math.floor(this.random() * endpoints.length))];
  }
}
