import type { EtcdGateway } from '../etcd/etcd-gateway.js';
import type { RetryLoop } from '../util/retry-loop.js';
import { KeyGuard } from './key-guard.js';
import type { LeaseSession } from './lease-session.js';
import type { RegistrationEntries } from './registration-entries.js';
import type { RegistrationEntry } from './registration-entry.js';
import type { RegistrationEvent } from './registration-events.js';

/**
 * The etcd writes of one pass of `RegistrationReconciler`'s loop: the keys to delete, then each entry
 * that is due, put under the lease and watched from then on. Apart from the reconciler, which owns the
 * loop, the lease and the registry's life: this only writes what the entries say, and tells what it did.
 */
export class RegistrationWriter {
  constructor(
    private readonly gateway: EtcdGateway,
    private readonly registrations: RegistrationEntries,
    private readonly events: { next(event: RegistrationEvent): void },
    /** Kicked when a stored key is lost: the loop has work again. */
    private readonly loop: Pick<RetryLoop, 'kick'>,
    /** Whether the registry has closed: nothing more is written, nothing more is told. */
    private readonly closed: () => boolean,
  ) {}

  /** Deletes the keys of the entries removed, resolving each removal's promise. */
  async deleteRemoved(): Promise<void> {
    for (const [key, { entry, done }] of this.registrations.removals) {
      await this.gateway.delete(key);
      this.registrations.removals.delete(key);
      this.events.next({ type: 'deregistered', endpoint: entry.endpoint, key });
      done.resolve();
    }
  }

  /** Writes each entry that is due under `session`'s lease, while the registry is open and the lease alive. */
  async storeDue(session: LeaseSession): Promise<void> {
    for (const entry of [...this.registrations.entries.values()]) {
      if (this.closed() || !session.alive) return;
      if (entry.due && this.registrations.entries.get(entry.key) === entry) await this.store(entry, session);
    }
  }

  private async store(entry: RegistrationEntry, session: LeaseSession): Promise<void> {
    entry.stamp(session.leaseId, Date.now());
    const value = entry.value;
    const inPlace = entry.inPlaceUnder(session.leaseId);
    const revision = await this.gateway.put(entry.key, value, session.leaseId);
    if (this.closed() || this.registrations.entries.get(entry.key) !== entry || !session.alive) return;
    const guard = new KeyGuard(this.gateway, entry.key, entry.servicePrefix, revision, (reason) =>
      this.onKeyGone(entry, session, reason),
    );
    const { kind, replaced } = entry.stored(session.leaseId, value, inPlace, guard);
    const { endpoint, key } = entry;
    this.events.next(
      kind === 'status'
        ? { type: kind, endpoint, key, status: endpoint.status ?? 'up' }
        : { type: kind, endpoint, key, leaseId: session.leaseId },
    );
    await replaced?.stop();
  }

  private onKeyGone(entry: RegistrationEntry, session: LeaseSession, reason: string): void {
    if (this.closed() || this.registrations.entries.get(entry.key) !== entry || entry.storedUnder !== session.leaseId)
      return;
    entry.storedUnder = undefined;
    this.events.next({ type: 'key-lost', key: entry.key, reason });
    this.loop.kick();
  }
}
