import type { ServiceEndpoint } from '../service-endpoint.interface.js';
import type { LoadBalancingStrategy, PickContext } from './load-balancing-strategy.js';

/**
 * Exact rotation per service: with the list unchanged, n calls hit n endpoints once each, in list
 * (id) order. When the list changes the rotation goes on from where it was. Retries (another
 * endpoint after a connection failure) rotate on their own, so that they take no call's turn: with
 * one of three endpoints dead, it is tried on a third of the calls and the other two answer half each.
 */
export class RoundRobinStrategy implements LoadBalancingStrategy {
  private readonly turns = new Map<string, { next: number }>();
  private readonly retryTurns = new Map<string, { next: number }>();

  pick(
    endpoints: readonly ServiceEndpoint[],
    { service, retry, group = service }: PickContext,
  ): ServiceEndpoint | undefined {
    const count = endpoints.length;
    if (count === 0) return undefined;
    const turns = retry === true ? this.retryTurns : this.turns;
    let turn = turns.get(group);
    if (turn === undefined) turns.set(group, (turn = { next: 0 }));
    const index = turn.next % count;
    turn.next = index + 1;
    return endpoints[index];
  }
}
