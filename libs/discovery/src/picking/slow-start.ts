import type { Observable } from 'rxjs';
import { instanceKey } from '../codec/instance-key.js';
import type { ServiceEndpoint } from '../service-endpoint.interface.js';
import type { EndpointChange } from '../watch/endpoint-change.interface.js';

/** The share of its calls a joining endpoint starts with. */
const FIRST_SHARE = 0.1;

/**
 * Slow start for one service (Envoy's and gRPC's A100): an endpoint that joins after the first list
 * gets a share of the picks that grows from a tenth to its whole share over `durationMs`, whatever
 * the strategy — a pick of it stands with that probability, else the strategy picks again. A cold
 * instance (empty caches, a JIT not warmed up) is not flooded the moment it appears.
 */
export class SlowStart {
  /** When each endpoint still warming up joined, by instance key. */
  private readonly joined = new Map<string, number>();
  private lastJoin = -Infinity;

  constructor(
    private readonly durationMs: number,
    changes$: Observable<EndpointChange>,
    private readonly now: () => number = Date.now,
    private readonly random: () => number = Math.random,
  ) {
    // Completes with the watch, at shutdown.
    changes$.subscribe((change) => {
      if (change.type !== 'added') return;
      this.lastJoin = this.now();
      this.joined.set(instanceKey(change.endpoint), this.lastJoin);
    });
  }

  /** No endpoint is warming up: every pick stands. */
  get none(): boolean {
    if (this.joined.size > 0 && this.now() - this.lastJoin >= this.durationMs) this.joined.clear();
    return this.joined.size === 0;
  }

  /** Whether a pick of `endpoint` stands: always once it is warm; while it warms up, with its share. */
  accepts(endpoint: ServiceEndpoint): boolean {
    const joinedAt = this.joined.get(instanceKey(endpoint));
    if (joinedAt === undefined) return true;
    const warmth = (this.now() - joinedAt) / this.durationMs;
    if (warmth >= 1) {
      this.joined.delete(instanceKey(endpoint));
      return true;
    }
    return this.random() < FIRST_SHARE + (1 - FIRST_SHARE) * warmth;
  }
}
