import type { ServiceEndpoint } from '../service-endpoint.interface.js';
import type { LoadBalancingStrategy, PickContext } from './load-balancing-strategy.js';

/**
 * Exact rotation per service: with the list unchanged, n calls hit n endpoints once each, in list
 * (id) order. When the list changes the rotation goes on from where it was.
 */
export class RoundRobinStrategy implements LoadBalancingStrategy {
  private readonly next = new Map<string, number>();

  pick(endpoints: readonly ServiceEndpoint[], { service }: PickContext): ServiceEndpoint | undefined {
    if (endpoints.length === 0) return undefined;
    const turn = this.next.get(service) ?? 0;
    this.next.set(service, (turn + 1) % Number.MAX_SAFE_INTEGER);
    return endpoints[turn % endpoints.length];
  }
}
