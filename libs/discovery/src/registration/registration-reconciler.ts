import { Inject, Injectable, type LoggerService } from '@nestjs/common';
import { Subject, type Observable } from 'rxjs';
import { RESOLVED_DISCOVERY_OPTIONS } from '../discovery.constants.js';
import { messages } from '../discovery.messages.js';
import { RegistryClosedError } from '../errors.js';
import { isLeaseGone } from '../etcd/etcd-errors.js';
import { EtcdGateway } from '../etcd/etcd-gateway.js';
import type { ResolvedDiscoveryOptions } from '../options/discovery-module-options.interface.js';
import type { EndpointStatus, ServiceEndpoint } from '../service-endpoint.interface.js';
import { Deferred } from '../util/deferred.js';
import { RetryLoop } from '../util/retry-loop.js';
import { libraryLogger } from '../util/library-logger.js';
import { AttemptFailures } from './attempt-failures.js';
import { LeaseKeeper } from './lease-keeper.js';
import { RegistrationEntries } from './registration-entries.js';
import { RegistrationWriter } from './registration-writer.js';
import { Listeners } from '../util/listeners.js';
import { logRegistrationEvent, type RegistrationEvent } from './registration-events.js';
import type { RegistrationState } from './service-registration.interface.js';

/** The longest pause while 'fail-fast' start-up waits for its lease: seconds of backoff would spend its window. */
const STARTUP_RETRY_CAP_MS = 250;

/**
 * Brings etcd in line with this process' registrations: one lease for all of them, and every key
 * put back — with capped exponential backoff and full jitter, for as long as the app runs —
 * whenever the lease or a key is lost. All etcd writes happen in one loop that compares what should
 * be in etcd (the entries) with what is known to be there (the lease and each entry's
 * `storedUnder`), so that a loss, a registration and a deregistration arriving together can never
 * interleave badly. `ServiceRegistry` is its public face.
 */
@Injectable()
export class RegistrationReconciler {
  private readonly logger: LoggerService;
  private readonly events = new Subject<RegistrationEvent>();
  private readonly registrations: RegistrationEntries;
  private readonly writer: RegistrationWriter;
  private readonly lease: LeaseKeeper;
  private readonly loop: RetryLoop;
  private leaseWanted = false;
  private readonly leaseGranted = new Deferred<void>();
  private readonly failures: AttemptFailures;
  private closed = false;
  private readonly stopRetryingOnConnect: () => void;

  /** Registered, lease lost, re-registered, deregistered, retrying …; completes at shutdown. */
  readonly events$: Observable<RegistrationEvent> = this.events.asObservable();
  /** A keepalive of the lease failed (the lease may still be alive: it is tried again). */
  readonly keepaliveFailed = new Listeners();

  constructor(
    @Inject(RESOLVED_DISCOVERY_OPTIONS) private readonly options: ResolvedDiscoveryOptions,
    gateway: EtcdGateway,
  ) {
    this.logger = libraryLogger('ServiceRegistry', options);
    this.failures = new AttemptFailures(options, this.logger, (refused) => this.leaseGranted.reject(refused));
    this.registrations = new RegistrationEntries(options.namespace);
    this.lease = new LeaseKeeper(
      gateway,
      options.ttl,
      options.connectTimeoutMs,
      (leaseId, reason) => this.onLeaseLost(leaseId, reason),
      () => this.keepaliveFailed.tell(),
    );
    this.loop = new RetryLoop(options.backoff, {
      hasWork: () => this.registrations.hasWork(this.leaseWanted, this.lease.leaseId !== undefined),
      attempt: () => this.reconcile(),
      failed: (error, attempt, delayMs) => this.failed(error, attempt, delayMs),
      longestDelayMs: () => (this.leaseWanted && !this.leaseGranted.settled ? STARTUP_RETRY_CAP_MS : Infinity),
    });
    this.writer = new RegistrationWriter(gateway, this.registrations, this.events, this.loop, () => this.closed);
    this.events$.subscribe((event) => logRegistrationEvent(this.logger, event));
    this.stopRetryingOnConnect = gateway.onConnected(() => this.loop.retryNow());
  }

  get leaseId(): string | undefined {
    return this.lease.leaseId;
  }

  /** Why the last attempt failed (for start-up's error message); undefined before any failure. */
  get lastFailure(): unknown {
    return this.failures.last;
  }

  states(): RegistrationState[] {
    return this.registrations.states();
  }

  /**
   * Adds a checked endpoint; resolves once its key is in etcd.
   * @throws RegistryClosedError once the registry has closed (the app is shutting down).
   */
  add(endpoint: ServiceEndpoint): Promise<RegistrationState> {
    if (this.closed) throw new RegistryClosedError(messages.registryClosed());
    const entry = this.registrations.add(endpoint);
    this.loop.kick();
    return entry.firstStored.promise;
  }

  /** Removes the entries of `service` (only `id`, if given); resolves once etcd has dropped their keys. */
  async remove(service: string, id?: string): Promise<void> {
    const deletions = this.registrations.remove(service, id);
    this.loop.kick();
    await Promise.all(deletions);
  }

  /**
   * Sets the status of the entries of `service` (of all, if not given) and writes them again in
   * place — same key, same lease; resolves once etcd has them, or the registry closed.
   */
  async setStatus(status: EndpointStatus, service?: string): Promise<void> {
    const writes = this.registrations.setStatus(status, service);
    this.loop.kick();
    await Promise.all(writes);
  }

  /** Gets the lease now, before any registration; resolves once granted, rejects if etcd refuses. */
  grantLease(): Promise<void> {
    this.leaseWanted = true;
    this.loop.kick();
    return this.leaseGranted.promise;
  }

  /**
   * Stops the loop, the key watches and the keepalives, and revokes the lease, which removes every
   * key at once. Never throws: an unreachable etcd only means the keys expire after the TTL.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.stopRetryingOnConnect();
    await this.loop.close();
    const entries = [...this.registrations.entries.values()];
    const stored = entries.filter((entry) => entry.storedUnder !== undefined);
    await Promise.all(entries.map(async (entry) => entry.guard?.stop()));
    try {
      if ((await this.lease.close()) !== undefined) {
        for (const entry of stored)
          this.events.next({ type: 'deregistered', endpoint: entry.endpoint, key: entry.key });
      }
    } catch (error) {
      if (!isLeaseGone(error))
        this.logger.warn(
          `Could not revoke the lease (${(error as Error).message}); its keys expire after ${this.options.ttl} s`,
        );
    }
    const closedError = new RegistryClosedError(messages.registryClosed());
    this.registrations.settle(closedError);
    this.leaseGranted.reject(closedError);
    this.events.complete();
  }

  /** A failed attempt: the lease found gone is news (try again at once); anything else backs off. */
  private failed(error: unknown, attempt: number, delayMs: number): 'back-off' | 'again' {
    const words = this.failures.record(error);
    if (isLeaseGone(error) && this.lease.leaseId !== undefined) {
      // A put that finds the lease gone is how a revoke from outside often shows first: the next
      // attempt, which grants a new lease, starts at once.
      this.lease.markLost('etcd reports the lease is gone');
      return 'again';
    }
    this.events.next({ type: 'retrying', attempt, delayMs, error: words });
    return 'back-off';
  }

  private async reconcile(): Promise<void> {
    await this.writer.deleteRemoved();
    if (!this.leaseWanted && this.registrations.entries.size === 0) return;
    const session = await this.lease.ensure();
    this.leaseGranted.resolve();
    await this.writer.storeDue(session);
  }

  private onLeaseLost(leaseId: string, reason: string): void {
    if (this.closed) return;
    for (const entry of this.registrations.entries.values()) entry.storedUnder = undefined;
    this.events.next({ type: 'lease-lost', leaseId, reason });
    this.loop.kick();
  }
}
