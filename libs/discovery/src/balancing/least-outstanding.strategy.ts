import type { ServiceEndpoint } from '../service-endpoint.interface.js';
import type { InFlightTracker, LoadBalancingStrategy } from './load-balancing-strategy.js';

/**
 * Power of two choices over in-flight requests: draw two different endpoints at random and take the
 * one with fewer calls in flight (the first drawn on a tie). Nearly as good as always taking the
 * least loaded, without herding every caller onto the same idle instance. The counts come from the
 * discovery-aware client proxy through `callStarted`/`callFinished`.
 */
export class LeastOutstandingStrategy implements LoadBalancingStrategy, InFlightTracker {
  private readonly inFlight = new Map<string, number>();

  constructor(private readonly random: () => number = Math.random) {}

  callStarted(endpoint: ServiceEndpoint): void {
    const key = this.keyOf(endpoint);
    this.inFlight.set(key, (this.inFlight.get(key) ?? 0) + 1);
  }

  callFinished(endpoint: ServiceEndpoint): void {
    const key = this.keyOf(endpoint);
    const count = (this.inFlight.get(key) ?? 0) - 1;
    if (count > 0) this.inFlight.set(key, count);
    else this.inFlight.delete(key);
  }

  /** Calls in flight to `endpoint` right now. */
  outstanding(endpoint: ServiceEndpoint): number {
    return this.inFlight.get(this.keyOf(endpoint)) ?? 0;
  }

  pick(endpoints: readonly ServiceEndpoint[]): ServiceEndpoint | undefined {
    if (endpoints.length <= 1) return endpoints[0];
    const first = Math.min(endpoints.length - 1, Math.floor(this.random() * endpoints.length));
    // The second draw skips the first, so the two are always different.
    let second = Math.min(endpoints.length - 2, Math.floor(this.random() * (endpoints.length - 1)));
    if (second >= first) second += 1;
    const a = endpoints[first]!;
    const b = endpoints[second]!;
    return this.outstanding(b) < this.outstanding(a) ? b : a;
  }

  private keyOf(endpoint: ServiceEndpoint): string {
    return `${endpoint.service}/${endpoint.id}`;
  }
}
