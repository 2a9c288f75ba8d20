import type { ServiceEndpoint } from '../service-endpoint.interface.js';
import type { InFlightTracker, LoadBalancingStrategy, PickContext } from './load-balancing-strategy.js';

/**
 * Power of two choices over in-flight requests: draw two different endpoints at random and take the
 * one with fewer calls in flight (the first drawn on a tie). Nearly as good as always taking the
 * least loaded, without herding every caller onto the same idle instance, and without a scan: a
 * pick costs two draws and two lookups. The counts come from the discovery-aware client proxy
 * through `callStarted`/`callFinished`.
 */
export class LeastOutstandingStrategy implements LoadBalancingStrategy, InFlightTracker {
  /** Calls in flight, by service, then by instance id; only counts above 0 are kept. */
  private readonly inFlight = new Map<string, Map<string, number>>();

  constructor(private readonly random: () => number = Math.random) {}

  callStarted(endpoint: ServiceEndpoint): void {
    let counts = this.inFlight.get(endpoint.service);
    if (counts === undefined) this.inFlight.set(endpoint.service, (counts = new Map<string, number>()));
    counts.set(endpoint.id, (counts.get(endpoint.id) ?? 0) + 1);
  }

  callFinished(endpoint: ServiceEndpoint): void {
    const counts = this.inFlight.get(endpoint.service);
    const count = (counts?.get(endpoint.id) ?? 0) - 1;
    if (count > 0) counts!.set(endpoint.id, count);
    else if (counts?.delete(endpoint.id) && counts.size === 0) this.inFlight.delete(endpoint.service);
  }

  /** Calls in flight to `endpoint` right now. */
  outstanding(endpoint: ServiceEndpoint): number {
    return this.inFlight.get(endpoint.service)?.get(endpoint.id) ?? 0;
  }

  pick(endpoints: readonly ServiceEndpoint[], { service }: PickContext): ServiceEndpoint | undefined {
    const count = endpoints.length;
    if (count <= 1) return endpoints[0];
    const first = Math.min(count - 1, Math.floor(this.random() * count));
    const counts = this.inFlight.get(service);
    // Nothing in flight: every pair is a tie, and a tie goes to the first drawn.
    if (counts === undefined) return endpoints[first];
    // The second draw skips the first, so the two are always different.
    let second = Math.min(count - 2, Math.floor(this.random() * (count - 1)));
    if (second >= first) second += 1;
    const a = endpoints[first];
    const b = endpoints[second];
    return (counts.get(b.id) ?? 0) < (counts.get(a.id) ?? 0) ? b : a;
  }
}
