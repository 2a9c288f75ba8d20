import { castGrpcError, type Etcd3 } from 'etcd3';
import { withDeadline } from '../etcd/etcd-connection.js';

type LeaseClient = Etcd3['leaseClient'];

/**
 * Sends one keepalive for `leaseId` and returns the TTL etcd answers: > 0 while the lease lives,
 * ≤ 0 when etcd no longer knows it (expired, revoked, or etcd's data wiped). Rejects when etcd
 * cannot be reached before the deadline.
 */
export async function keepAliveOnce(leases: LeaseClient, leaseId: string, timeoutMs: number): Promise<number> {
  const stream = await leases.leaseKeepAlive(withDeadline(timeoutMs));
  return new Promise<number>((resolve, reject) => {
    stream.on('error', (error: Error) => reject(castGrpcError(error)));
    stream.on('data', (response: { TTL?: string | number }) => {
      resolve(Number(response.TTL ?? 0));
      stream.end();
    });
    stream.write({ ID: leaseId });
  });
}

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
    private readonly leases: LeaseClient,
    readonly leaseId: string,
    private readonly ttlSeconds: number,
    private readonly callTimeoutMs: number,
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
  async revoke(timeoutMs: number): Promise<void> {
    this.stop();
    await this.leases.leaseRevoke({ ID: this.leaseId }, withDeadline(timeoutMs));
  }

  private async keepAlive(): Promise<void> {
    if (this.keepaliveInFlight || this.state !== 'alive') return;
    this.keepaliveInFlight = true;
    try {
      const interval = (this.ttlSeconds * 1000) / 3;
      const ttl = await keepAliveOnce(this.leases, this.leaseId, Math.min(this.callTimeoutMs, interval));
      if (ttl > 0) this.lastSuccess = Date.now();
      else this.markLost('etcd reports the lease expired or revoked');
    } catch (error) {
      const silentMs = Date.now() - this.lastSuccess;
      if (silentMs >= this.ttlSeconds * 1000) {
        this.markLost(`no keepalive succeeded for ${Math.round(silentMs / 1000)} s (${(error as Error).message})`);
      }
    } finally {
      this.keepaliveInFlight = false;
    }
  }
}
