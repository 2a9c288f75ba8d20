import type { EtcdGateway } from '../etcd/etcd-gateway.js';

/** Keepalive attempts within a round start at least this far apart. */
const MIN_ATTEMPT_SPACING_MS = 100;

/**
 * One granted lease and its keepalive loop (every TTL/3). It reports itself lost — once — when etcd
 * answers that the lease is gone, or when no keepalive has succeeded for a whole TTL, after which
 * etcd has deleted (or is about to delete) the keys. The registry decides what to do then.
 *
 * Written on etcd3's raw lease client rather than its `Lease` object, which retries every 100 ms
 * during an outage, reports loss only after 2×TTL, and cannot be revived after `lost`.
 */
export class LeaseSession {
  private timer: NodeJS.Timeout | undefined;
  private lastSuccess = Date.now();
  private keepaliveInFlight = false;
  private state: 'alive' | 'lost' | 'stopped' = 'alive';

  constructor(
    private readonly gateway: EtcdGateway,
    readonly leaseId: string,
    private readonly ttlSeconds: number,
    private readonly callTimeoutMs: number,
    private readonly onKeepaliveFailed: () => void,
    private readonly onLost: (session: LeaseSession, reason: string) => void,
  ) {
    this.timer = setInterval(() => void this.keepAlive(), (ttlSeconds * 1000) / 3);
  }

  get alive(): boolean {
    return this.state === 'alive';
  }

  /** Declares the lease lost (also used when a put reports it gone) and stops the keepalives. */
  markLost(reason: string): void {
    if (this.state !== 'alive') return;
    this.stop();
    this.state = 'lost';
    this.onLost(this, reason);
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    if (this.state === 'alive') this.state = 'stopped';
  }

  /** Stops the keepalives and revokes the lease, which deletes every key attached to it at once. */
  async revoke(): Promise<void> {
    this.stop();
    await this.gateway.revokeLease(this.leaseId);
  }

  /**
   * One keepalive round, every TTL/3. etcd3 sends each call to a member picked at random, so a
   * member that is frozen or partitioned swallows some calls: a failed attempt is retried (with
   * short attempts, since a healthy member answers in milliseconds; the member that did not answer
   * is tried last for a while, see `membersInTryOrder`) until one is answered or no keepalive has
   * succeeded for a whole TTL — at most every 100 ms, since a refused connection fails in a
   * millisecond: retried at once, an outage would keep a core busy with failing calls. The round
   * does not stop at the next tick: that tick finds it still running and passes, and a round that
   * gave up there left the lease two rounds without a keepalive (with a TTL of 5 s and a frozen
   * member, the lease expired).
   */
  private async keepAlive(): Promise<void> {
    if (this.keepaliveInFlight || this.state !== 'alive') return;
    this.keepaliveInFlight = true;
    const interval = (this.ttlSeconds * 1000) / 3;
    const attemptMs = Math.min(this.callTimeoutMs, Math.max(500, interval / 3));
    try {
      while (this.state === 'alive') {
        const attemptStarted = Date.now();
        try {
          const ttl = await this.gateway.keepAlive(this.leaseId, attemptMs);
          if (ttl > 0) this.lastSuccess = Date.now();
          else this.markLost('etcd reports the lease expired or revoked');
          return;
        } catch (error) {
          this.onKeepaliveFailed();
          const silentMs = Date.now() - this.lastSuccess;
          if (silentMs >= this.ttlSeconds * 1000) {
            this.markLost(`no keepalive succeeded for ${Math.round(silentMs / 1000)} s (${(error as Error).message})`);
            return;
          }
        }
        const spacing = MIN_ATTEMPT_SPACING_MS - (Date.now() - attemptStarted);
        if (spacing > 0) await new Promise((resolve) => setTimeout(resolve, spacing));
      }
    } finally {
      this.keepaliveInFlight = false;
    }
  }
}
