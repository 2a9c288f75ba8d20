import { encodeEndpoint } from '../codec/endpoint-codec.js';
import { endpointKey, servicePrefix } from '../codec/endpoint-key.js';
import { messages } from '../discovery.messages.js';
import { DiscoveryOptionsError, RegistrationWithdrawnError } from '../errors.js';
import type { EndpointStatus, ServiceEndpoint } from '../service-endpoint.interface.js';
import { Deferred } from '../util/deferred.js';
import { RegistrationEntry } from './registration-entry.js';
import type { RegistrationState } from './service-registration.interface.js';

/** The largest value a registration writes: 1 MiB, well inside etcd's default request limit of 1.5 MiB. */
export const MAX_VALUE_BYTES = 1024 * 1024;

/**
 * What the registry means to have in etcd — its entries, by key — and the keys it means to delete.
 * Pure bookkeeping: `RegistrationReconciler`'s loop does the writing.
 */
export class RegistrationEntries {
  readonly entries = new Map<string, RegistrationEntry>();
  /** Keys to delete, each with the promise `ServiceRegistry.deregister()` waits on. */
  readonly removals = new Map<string, { entry: RegistrationEntry; done: Deferred<void> }>();
  /**
   * This app's status, set for all its registrations at once (`setStatus` without a service, the health check): also
   * that of those added later.
   */
  private appStatus: EndpointStatus = 'up';

  constructor(private readonly namespace: string) {}

  states(): RegistrationState[] {
    return [...this.entries.values()].map((entry) => entry.state);
  }

  /** A new entry for a checked endpoint. @throws DiscoveryOptionsError when its key is registered already. */
  add(given: ServiceEndpoint): RegistrationEntry {
    const key = endpointKey(this.namespace, given.service, given.id);
    if (this.entries.has(key)) throw new DiscoveryOptionsError(messages.duplicateRegistration(key));
    // An app that is 'down' (its health check fails) does not get picked through a registration added meanwhile.
    const endpoint =
      given.status === undefined && this.appStatus !== 'up' ? { ...given, status: this.appStatus } : given;
    const value = encodeEndpoint(endpoint);
    const bytes = Buffer.byteLength(value);
    // With room for the lease stamp and a status written later.
    if (bytes > MAX_VALUE_BYTES) throw new DiscoveryOptionsError(messages.valueTooLarge(key, bytes, MAX_VALUE_BYTES));
    const entry = new RegistrationEntry(endpoint, key, servicePrefix(this.namespace, given.service), value);
    this.entries.set(key, entry);
    return entry;
  }

  /**
   * Drops the entries of `service` (only `id`, if given); those that were written become removals, whose promises it
   * returns.
   */
  remove(service: string, id: string | undefined): Promise<void>[] {
    const deletions: Promise<void>[] = [];
    for (const entry of [...this.entries.values()]) {
      if (entry.endpoint.service !== service || (id !== undefined && entry.endpoint.id !== id)) continue;
      this.entries.delete(entry.key);
      void entry.guard?.stop();
      entry.firstStored.reject(new RegistrationWithdrawnError(messages.withdrawnBeforeStored(entry.key)));
      entry.rewrite?.resolve();
      if (entry.storedUnder === undefined && entry.timesStored === 0) continue;
      const done = new Deferred<void>();
      this.removals.set(entry.key, { entry, done });
      deletions.push(done.promise);
    }
    return deletions;
  }

  /** Gives the entries of `service` (all, if not given) `status`; the promises settle once each is written. */
  setStatus(status: EndpointStatus, service: string | undefined): Promise<void>[] {
    const writes: Promise<void>[] = [];
    if (service === undefined) this.appStatus = status;
    for (const entry of this.entries.values()) {
      if (service !== undefined && entry.endpoint.service !== service) continue;
      if ((entry.endpoint.status ?? 'up') === status) continue;
      const { status: _previous, ...rest } = entry.endpoint;
      const endpoint: ServiceEndpoint = status === 'up' ? rest : { ...rest, status };
      writes.push(entry.change(endpoint, encodeEndpoint(endpoint)).catch(() => undefined));
    }
    return writes;
  }

  /** Whether the loop has anything to do: a key to delete, the lease to get, or an entry to write. */
  hasWork(leaseWanted: boolean, haveLease: boolean): boolean {
    if (this.removals.size > 0) return true;
    if ((leaseWanted || this.entries.size > 0) && !haveLease) return true;
    return [...this.entries.values()].some((entry) => entry.due);
  }

  /** At close: nothing more will be written or deleted; whoever waits learns it. */
  settle(closedError: Error): void {
    for (const entry of this.entries.values()) {
      entry.firstStored.reject(closedError);
      entry.rewrite?.resolve();
    }
    for (const { done } of this.removals.values()) done.resolve();
    this.entries.clear();
    this.removals.clear();
  }
}
