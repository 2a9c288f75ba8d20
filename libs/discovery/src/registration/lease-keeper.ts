import type { EtcdGateway } from '../etcd/etcd-gateway.js';
import { LeaseSession } from './lease-session.js';

/**
 * The process' one lease. `ensure()` gives the live lease: the current one, else the previous one
 * if etcd still knows it, else a new grant. A loss is reported once per lease through `onLost`.
 * The reconciler calls it from its one loop only, so no two calls ever overlap.
 */
export class LeaseKeeper {
  private session: LeaseSession | undefined;

  constructor(
    private readonly gateway: EtcdGateway,
    private readonly ttlSeconds: number,
    private readonly callTimeoutMs: number,
    private readonly onLost: (leaseId: string, reason: string) => void,
    /** Told of each failed keepalive attempt (metrics). */
    private readonly onKeepaliveFailed: () => void = () => undefined,
  ) {}

  /** The id of the live lease, if there is one. */
  get leaseId(): string | undefined {
    return this.session?.alive ? this.session.leaseId : undefined;
  }

  async ensure(): Promise<LeaseSession> {
    if (this.session?.alive) return this.session;
    const previous = this.session;
    let leaseId: string | undefined;
    // etcd extends leases on leader change and restart, so a lease we gave up on may well be alive:
    // keeping it avoids a flap for every watcher and leaves no second lease behind.
    if (previous && (await this.gateway.keepAlive(previous.leaseId, this.callTimeoutMs)) > 0)
      leaseId = previous.leaseId;
    leaseId ??= await this.gateway.grantLease(this.ttlSeconds);
    const session = new LeaseSession(
      this.gateway,
      leaseId,
      this.ttlSeconds,
      this.callTimeoutMs,
      this.onKeepaliveFailed,
      (lost, reason) => {
        if (lost === this.session) this.onLost(lost.leaseId, reason);
      },
    );
    this.session = session;
    return session;
  }

  /** A write found the lease gone: that is how a revoke from outside often shows first. */
  markLost(reason: string): void {
    this.session?.markLost(reason);
  }

  /**
   * Stops the keepalives and revokes the lease, which removes every key attached to it at once.
   * Resolves with the revoked lease's id (undefined if there was none, or etcd no longer knew it);
   * rejects when etcd cannot be reached.
   */
  async close(): Promise<string | undefined> {
    const session = this.session;
    this.session = undefined;
    if (!session) return undefined;
    await session.revoke();
    return session.leaseId;
  }
}
