import { isLeaseGone, isRefusal } from '../etcd/etcd-errors.js';
import type { EtcdGateway } from '../etcd/etcd-gateway.js';
import { LeaseKeeper } from '../registration/lease-keeper.js';
import { RetryLoop } from '../util/retry-loop.js';

/** How a leased value is kept: the lease's TTL, the longest wait for etcd, the backoff between failed writes. */
export interface LeasedValueSettings {
  ttl: number;
  connectTimeoutMs: number;
  backoff: { initialDelayMs: number; maxDelayMs: number };
}

/** How long after a refused write the next value may be tried. */
const REFUSED_WRITE_AGAIN_MS = 5 * 60_000;

/** A lease someone else keeps alive (the app's registrations'), when there is one. */
export interface SharedLease {
  readonly leaseId: string | undefined;
}

/**
 * One key that lives as long as this app does, holding the latest value it was given: written under the app's
 * registrations' lease when it has one (no second lease to keep alive), else under a lease of its own; written again
 * when that lease changes or is lost, the writes of a burst of values coalesced into the last one, failures retried
 * with backoff (and at once when etcd is reachable again). `close()` revokes its own lease, which deletes the key.
 */
export class LeasedValue {
  private wanted: string | undefined;
  private written: string | undefined;
  /** The lease the key was last written under. */
  private writtenUnder: string | undefined;
  private ownLease = false;
  /** After a refusal: no write before this time (ms since the epoch). */
  private refusedUntil = 0;
  /** Grows each time the key must be written again whatever it holds (its lease changed or was lost). */
  private generation = 0;
  private readonly lease: LeaseKeeper;
  private readonly loop: RetryLoop;
  private readonly stopRetryingOnConnect: () => void;

  constructor(
    private readonly gateway: EtcdGateway,
    private readonly key: string,
    settings: LeasedValueSettings,
    private readonly shared: SharedLease,
    onRefused: (error: Error) => void,
  ) {
    this.lease = new LeaseKeeper(gateway, settings.ttl, settings.connectTimeoutMs, () => {
      this.writeAgain(); // etcd deleted the key with the lease: write it again under a new one
    });
    this.loop = new RetryLoop(settings.backoff, {
      hasWork: () => Date.now() >= this.refusedUntil && this.wanted !== undefined && this.wanted !== this.written,
      attempt: () => this.write(),
      failed: (error) => {
        // A refusal (a role without the key) will not pass by itself: a value set 5 min later tries again, no loop.
        if (isRefusal(error)) {
          this.refusedUntil = Date.now() + REFUSED_WRITE_AGAIN_MS;
          onRefused(error as Error);
        }
        return 'back-off';
      },
    });
    this.stopRetryingOnConnect = gateway.onConnected(() => this.loop.retryNow());
  }

  /** The value from now on; written at once, or after the write in flight. */
  set(value: string): void {
    this.wanted = value;
    this.loop.kick();
  }

  /** The shared lease may have changed (granted, lost, replaced): the key follows it. */
  leaseChanged(): void {
    if (this.shared.leaseId !== this.writtenUnder) this.writeAgain();
  }

  /** Stops writing and revokes the lease (the key goes with it); an unreachable etcd lets the lease expire instead. */
  async close(): Promise<void> {
    this.stopRetryingOnConnect();
    await this.loop.close();
    await this.lease.close().catch(() => undefined);
  }

  /** What is in etcd is no longer known good: write again (a write in flight does not count, see `generation`). */
  private writeAgain(): void {
    this.generation += 1;
    this.written = undefined;
    this.loop.kick();
  }

  private async write(): Promise<void> {
    const value = this.wanted!;
    const generation = this.generation;
    const sharedId = this.shared.leaseId;
    if (sharedId === undefined) this.ownLease = true; // granted (or kept) from here on: revoked once not needed
    const leaseId = sharedId ?? (await this.lease.ensure()).leaseId;
    try {
      await this.gateway.put(this.key, value, leaseId);
    } catch (error) {
      if (isLeaseGone(error) && sharedId === undefined) this.lease.markLost('etcd no longer knows the lease');
      throw error;
    }
    // The lease changed or was lost while this write was in flight: it may be under the wrong one, the loop goes on.
    if (generation !== this.generation) return;
    this.written = value;
    this.writtenUnder = leaseId;
    // The key is under the shared lease now: revoking our own no longer deletes it.
    if (sharedId !== undefined && this.ownLease) {
      this.ownLease = false;
      await this.lease.close().catch(() => undefined);
    }
  }
}
