import { encodeEndpoint } from '../codec/endpoint-codec.js';
import type { ServiceEndpoint } from '../service-endpoint.interface.js';
import { Deferred } from '../util/deferred.js';
import type { KeyGuard } from './key-guard.js';
import type { RegistrationState } from './service-registration.interface.js';

/** One registration: what should be in etcd, and what is known to be there. */
export class RegistrationEntry {
  /** The lease the key was last written under; undefined while it has to be (re)written. */
  storedUnder: string | undefined;
  timesStored = 0;
  /** The watch on the key, from the write that stored it. */
  guard: KeyGuard | undefined;
  /** Settles with the first successful write, or with why there will be none. */
  readonly firstStored = new Deferred<RegistrationState>();

  /** The value changed (its status) while the key was stored: it has to be written again, in place. */
  rewrite: Deferred<void> | undefined;

  constructor(
    public endpoint: ServiceEndpoint,
    readonly key: string,
    /** The prefix of the service's keys, where its `KeyGuard` watches. */
    readonly servicePrefix: string,
    /** The encoded value. */
    public value: string,
  ) {}

  /** The lease the value's `registeredAt` was stamped for. */
  private stampedFor: string | undefined;

  /**
   * Before a write under `leaseId`: a lease it was not written under before stamps the value with
   * the time (`registeredAt`, the lease's age); a key put back under the same lease keeps its stamp.
   */
  stamp(leaseId: string, now: number): void {
    if (this.stampedFor === leaseId) return;
    this.stampedFor = leaseId;
    this.endpoint = { ...this.endpoint, registeredAt: now };
    this.value = encodeEndpoint(this.endpoint);
  }

  /** What is written next, and a promise that settles once it is (or never will be). */
  change(endpoint: ServiceEndpoint, value: string): Promise<void> {
    this.endpoint = endpoint;
    this.value = value;
    this.rewrite ??= new Deferred<void>();
    return this.rewrite.promise;
  }

  /** Whether it has to be written: first, again (after a loss), or in place (a new status). */
  get due(): boolean {
    return this.storedUnder === undefined || this.rewrite !== undefined;
  }

  /** Whether the next write under `leaseId` only changes the value of a key that is there: a new status. */
  inPlaceUnder(leaseId: string): boolean {
    return this.rewrite !== undefined && this.storedUnder === leaseId;
  }

  /**
   * `value` is in etcd under `leaseId`, watched from now on by `guard`. Returns what the write was —
   * a new status written in place (as `inPlaceUnder` said before it), or the key (re)stored — and the
   * guard it replaces. State and promises change together, so that whoever sees one sees the others.
   */
  stored(
    leaseId: string,
    value: string,
    inPlace: boolean,
    guard: KeyGuard,
  ): { kind: 'status' | 'registered' | 're-registered'; replaced: KeyGuard | undefined } {
    if (this.rewrite !== undefined && this.value === value) {
      this.rewrite.resolve();
      this.rewrite = undefined;
    }
    const replaced = this.guard;
    this.guard = guard;
    this.storedUnder = leaseId;
    if (inPlace) return { kind: 'status', replaced };
    this.timesStored += 1;
    this.firstStored.resolve(this.state);
    return { kind: this.timesStored === 1 ? 'registered' : 're-registered', replaced };
  }

  get state(): RegistrationState {
    const { service, id } = this.endpoint;
    return {
      service,
      id,
      key: this.key,
      endpoint: this.endpoint,
      state: this.storedUnder !== undefined ? 'registered' : 'pending',
    };
  }
}
