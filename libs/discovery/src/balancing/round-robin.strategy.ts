import type { ServiceEndpoint } from '../service-endpoint.interface.js';
import type { LoadBalancingStrategy, PickContext } from './load-balancing-strategy.js';

/**
 * Exact rotation per service: with the list unchanged, n calls hit n endpoints once each, in list
 * (id) order. When the list changes the rotation goes on from where it was.
 */
export class RoundRobinStrategy implements LoadBalancingStrategy {
  private readonly turns = new Map<string, { next: number }>();

  pick(endpoints: readonly ServiceEndpoint[], { service }: PickContext): ServiceEndpoint | undefined {
    const count = endpoints.length;
    if (count === 0) return undefined;
    let turn = this.turns.get(service);
    if (turn === undefined) this.turns.set(service, (turn = { next: 0 }));
    const index = turn.next % count;
    turn.next = index + 1;
    return endpoints[index];
  }
}
