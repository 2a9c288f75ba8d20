import { Inject, Injectable, Logger } from '@nestjs/common';
import { EtcdLeaseInvalidError } from 'etcd3';
import { informativeError } from '../etcd/circuit-breaker.js';
import { isRefusal } from '../etcd/refusal.js';
import { Subject, type Observable } from 'rxjs';
import { encodeEndpoint } from '../codec/endpoint-codec.js';
import { endpointKey, servicePrefix } from '../codec/endpoint-key.js';
import { formatAddress } from '../codec/host-port.js';
import { RESOLVED_DISCOVERY_OPTIONS } from '../discovery.constants.js';
import { messages } from '../discovery.messages.js';
import { DiscoveryOptionsError, EtcdUnavailableError, RegistryClosedError } from '../errors.js';
import { EtcdConnection, withDeadline } from '../etcd/etcd-connection.js';
import type { ResolvedDiscoveryOptions } from '../options/discovery-module-options.interface.js';
import * as validate from '../options/validation.js';
import type { ServiceEndpoint } from '../service-endpoint.interface.js';
import { backoffDelay } from '../util/backoff.js';
import { Deferred } from '../util/deferred.js';
import { cancellableSleep } from '../util/sleep.js';
import { withTimeout } from '../util/with-timeout.js';
import { KeyGuard } from './key-guard.js';
import { LeaseSession, keepAliveOnce } from './lease-session.js';
import { logRegistrationEvent, type RegistrationEvent } from './registration-events.js';
import type { RegistrationState, ServiceRegistration } from './service-registration.interface.js';

interface Entry {
  readonly endpoint: ServiceEndpoint;
  readonly key: string;
  readonly value: string;
  /** The lease the key was last written under; undefined while it has to be (re)written. */
  storedUnder?: string;
  timesStored: number;
  guard?: KeyGuard;
  readonly firstStored: Deferred<RegistrationState>;
}


/**
 * This process' registrations in etcd: one lease for all of them, kept alive, and put back —
 * with capped exponential backoff and full jitter, for as long as the app runs — whenever the
 * lease or a key is lost. The `@Discoverable()` classes are registered through it; apps that
 * register by hand inject it.
 *
 * All etcd writes happen in one loop that reconciles what should be in etcd (the entries) with
 * what is known to be there (the lease and each entry's `storedUnder`), so that a loss, a
 * registration and a deregistration arriving together can never interleave badly.
 */
@Injectable()
export class ServiceRegistry {
  private readonly logger = new Logger('ServiceRegistry');
  private readonly events = new Subject<RegistrationEvent>();
  private readonly entries = new Map<string, Entry>();
  private readonly pendingDeletes = new Map<string, { entry: Entry; done: Deferred<void> }>();
  private session: LeaseSession | undefined;
  private leaseWanted = false;
  private leaseReady = new Deferred<void>();
  private lastError: unknown;
  private lastRefusal: string | undefined;
  private closed = false;
  private loop: Promise<void> | undefined;
  private wake: () => void = () => undefined;
  private backoff: ReturnType<typeof cancellableSleep> | undefined;

  /** Registered, lease lost, re-registered, deregistered, retrying …; completes at shutdown. */
  readonly events$: Observable<RegistrationEvent> = this.events.asObservable();

  constructor(
    @Inject(RESOLVED_DISCOVERY_OPTIONS) private readonly options: ResolvedDiscoveryOptions,
    private readonly connection: EtcdConnection,
  ) {
    this.events$.subscribe((event) => logRegistrationEvent(this.logger, event));
    connection.beforeClose(() => this.close());
  }

  /** The id of the lease all registrations of this process share, while it is alive. */
  get leaseId(): string | undefined {
    return this.session?.alive ? this.session.leaseId : undefined;
  }

  /** A snapshot of this process' registrations. */
  registrations(): RegistrationState[] {
    return [...this.entries.values()].map((entry) => this.stateOf(entry));
  }

  /**
   * Registers one instance and resolves once its key is in etcd. While etcd is unreachable it keeps
   * trying (and so does the promise); invalid input rejects at once with what to fix.
   */
  async register(registration: ServiceRegistration): Promise<RegistrationState> {
    if (this.closed) throw new RegistryClosedError(messages.registryClosed());
    const endpoint = toEndpoint(registration);
    const key = endpointKey(this.options.namespace, endpoint.service, endpoint.id);
    if (this.entries.has(key)) throw new DiscoveryOptionsError(messages.duplicateRegistration(key));
    const entry: Entry = { endpoint, key, value: encodeEndpoint(endpoint), timesStored: 0, firstStored: new Deferred() };
    this.entries.set(key, entry);
    this.kick();
    return entry.firstStored.promise;
  }

  /** Removes the instances of `service` (only the one with `id`, if given) and waits for etcd to drop them. */
  async deregister(service: string, id?: string): Promise<void> {
    const removed = [...this.entries.values()].filter(
      (entry) => entry.endpoint.service === service && (id === undefined || entry.endpoint.id === id),
    );
    const deletions: Promise<void>[] = [];
    for (const entry of removed) {
      this.entries.delete(entry.key);
      void entry.guard?.stop();
      entry.firstStored.reject(new Error(`${entry.key} was deregistered before it was stored`));
      if (entry.storedUnder === undefined && entry.timesStored === 0) continue;
      const done = new Deferred<void>();
      this.pendingDeletes.set(entry.key, { entry, done });
      deletions.push(done.promise);
    }
    this.kick();
    await Promise.all(deletions);
  }

  /**
   * Waits until the lease is granted. Start-up calls it in 'fail-fast' mode: an unreachable etcd, or
   * credentials it refuses, become an error here rather than an app that silently never registers.
   */
  async connect(timeoutMs = this.options.connectTimeoutMs): Promise<void> {
    this.leaseWanted = true;
    this.kick();
    await withTimeout(this.leaseReady.promise, timeoutMs, () => this.unreachable(timeoutMs));
  }

  /**
   * Fails with a clear error if this process may not write the keys of `service`. A transaction whose
   * condition never holds writes nothing, but etcd checks its operations' permissions all the same.
   * Start-up calls it in 'fail-fast' mode: a lease needs no permission, so connect() cannot tell.
   */
  async checkWritable(service: string): Promise<void> {
    const { client } = this.connection;
    const prefix = servicePrefix(this.options.namespace, service);
    const probe = `${prefix}.write-check`;
    try {
      await client
        .if(probe, 'Version', '<', 0)
        .then(client.put(probe).value(''))
        .options(withDeadline(this.options.connectTimeoutMs))
        .commit();
    } catch (error) {
      if (!isRefusal(error)) throw error;
      throw new EtcdUnavailableError(messages.etcdRefused(this.options.etcd.hosts, describe(error), prefix));
    }
  }

  /**
   * Revokes the lease, which removes every registration at once, and stops the keepalives, the key
   * watches and the retry loop. Called before the servers close; never throws (an unreachable etcd
   * only means the keys expire after the TTL instead).
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.wake();
    this.backoff?.cancel();
    await this.loop;
    const stored = [...this.entries.values()].filter((entry) => entry.storedUnder !== undefined);
    await Promise.all([...this.entries.values()].map((entry) => entry.guard?.stop()));
    const session = this.session;
    this.session = undefined;
    if (session) {
      try {
        await session.revoke(this.options.connectTimeoutMs);
        for (const entry of stored) this.events.next({ type: 'deregistered', endpoint: entry.endpoint, key: entry.key });
      } catch (error) {
        if (!(error instanceof EtcdLeaseInvalidError)) {
          this.logger.warn(`Could not revoke lease ${session.leaseId} (${(error as Error).message}); its keys expire after ${this.options.ttl} s`);
        }
      }
    }
    const closedError = new RegistryClosedError(messages.registryClosed());
    for (const entry of this.entries.values()) entry.firstStored.reject(closedError);
    for (const { done } of this.pendingDeletes.values()) done.resolve();
    this.leaseReady.reject(closedError);
    this.entries.clear();
    this.pendingDeletes.clear();
    this.events.complete();
  }

  private kick(): void {
    if (this.closed) return;
    this.loop ??= this.run();
    this.wake();
  }

  private hasWork(): boolean {
    if (this.pendingDeletes.size > 0) return true;
    const needLease = this.leaseWanted || this.entries.size > 0;
    if (needLease && !this.session?.alive) return true;
    return [...this.entries.values()].some((entry) => entry.storedUnder === undefined);
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (!this.closed) {
      if (!this.hasWork()) {
        await new Promise<void>((resolve) => (this.wake = resolve));
        continue;
      }
      try {
        await this.reconcile();
        failures = 0;
      } catch (error) {
        if (this.closed) break;
        this.lastError = informativeError(error, this.lastError);
        if (error instanceof EtcdLeaseInvalidError && this.session?.alive) {
          // A put that finds the lease gone is how a revoke from outside often shows first: that is
          // news, not a failure, so the next attempt (which grants a new lease) starts at once.
          this.session.markLost('etcd reports the lease is gone');
          continue;
        }
        if (isRefusal(error)) {
          const refused = messages.etcdRefused(this.options.etcd.hosts, describe(error), `${this.options.namespace}/`);
          this.leaseReady.reject(new EtcdUnavailableError(refused));
          // Said once as an error: the retries below go on, in case the permission is granted later.
          if (refused !== this.lastRefusal) this.logger.error(refused);
          this.lastRefusal = refused;
        }
        const delayMs = backoffDelay(failures, this.options.retry.initialDelayMs, this.options.retry.maxDelayMs);
        failures += 1;
        this.events.next({ type: 'retrying', attempt: failures, delayMs, error: describe(error) });
        // Only shutdown cuts a backoff short (close() cancels it): new work waits for the next attempt.
        this.backoff = cancellableSleep(delayMs);
        await this.backoff.done;
        this.backoff = undefined;
      }
    }
  }

  private async reconcile(): Promise<void> {
    for (const [key, { entry, done }] of this.pendingDeletes) {
      await this.connection.client.delete().key(key).options(withDeadline(this.options.connectTimeoutMs)).exec();
      this.pendingDeletes.delete(key);
      this.events.next({ type: 'deregistered', endpoint: entry.endpoint, key });
      done.resolve();
    }
    if (!this.leaseWanted && this.entries.size === 0) return;
    const session = await this.ensureLease();
    for (const entry of [...this.entries.values()]) {
      if (this.closed || !session.alive) return;
      if (entry.storedUnder === undefined && this.entries.get(entry.key) === entry) await this.store(entry, session);
    }
  }

  /** The live lease: the current one, the previous one if etcd still knows it, or a new grant. */
  private async ensureLease(): Promise<LeaseSession> {
    if (this.session?.alive) return this.session;
    const timeoutMs = this.options.connectTimeoutMs;
    const leases = this.connection.client.leaseClient;
    const previous = this.session;
    let leaseId: string | undefined;
    if (previous) {
      // etcd extends leases on leader change and restart, so a lease we gave up on may well be
      // alive: keeping it avoids a flap for every watcher and leaves no second lease behind.
      if ((await keepAliveOnce(leases, previous.leaseId, timeoutMs)) > 0) leaseId = previous.leaseId;
    }
    leaseId ??= (await leases.leaseGrant({ TTL: this.options.ttl }, withDeadline(timeoutMs))).ID;
    if (this.closed) {
      await leases.leaseRevoke({ ID: leaseId }, withDeadline(timeoutMs)).catch(() => undefined);
      throw new RegistryClosedError(messages.registryClosed());
    }
    this.session = new LeaseSession(leases, leaseId, this.options.ttl, timeoutMs, (lost, reason) =>
      this.onLeaseLost(lost, reason),
    );
    this.leaseReady.resolve();
    return this.session;
  }

  private async store(entry: Entry, session: LeaseSession): Promise<void> {
    const response = await this.connection.client
      .put(entry.key)
      .value(entry.value)
      .lease(session.leaseId)
      .options(withDeadline(this.options.connectTimeoutMs))
      .exec();
    if (this.closed || this.entries.get(entry.key) !== entry || !session.alive) return;
    const previousGuard = entry.guard;
    const fromRevision = (BigInt(response.header.revision) + 1n).toString();
    entry.guard = new KeyGuard(this.connection.client, entry.key, fromRevision, (reason) =>
      this.onKeyGone(entry, session, reason),
    );
    entry.storedUnder = session.leaseId;
    entry.timesStored += 1;
    // State, event and promise change together, so that whoever sees one sees the others.
    const type = entry.timesStored === 1 ? 'registered' : 're-registered';
    this.events.next({ type, endpoint: entry.endpoint, key: entry.key, leaseId: session.leaseId });
    entry.firstStored.resolve(this.stateOf(entry));
    await previousGuard?.stop();
  }

  private onLeaseLost(session: LeaseSession, reason: string): void {
    if (this.closed || session !== this.session) return;
    for (const entry of this.entries.values()) entry.storedUnder = undefined;
    this.events.next({ type: 'lease-lost', leaseId: session.leaseId, reason });
    this.kick();
  }

  private onKeyGone(entry: Entry, session: LeaseSession, reason: string): void {
    if (this.closed || this.entries.get(entry.key) !== entry || entry.storedUnder !== session.leaseId) return;
    entry.storedUnder = undefined;
    this.events.next({ type: 'key-lost', key: entry.key, reason });
    this.kick();
  }

  private stateOf(entry: Entry): RegistrationState {
    const { service, id } = entry.endpoint;
    const state = entry.storedUnder !== undefined ? 'registered' : 'pending';
    return { service, id, key: entry.key, endpoint: entry.endpoint, state };
  }

  private unreachable(timeoutMs: number): EtcdUnavailableError {
    const cause = this.lastError === undefined ? 'no answer yet' : describe(this.lastError);
    return new EtcdUnavailableError(messages.etcdUnreachable(this.options.etcd.hosts, timeoutMs, cause));
  }
}

/** Checks a registration and fills in its defaults. */
export function toEndpoint(registration: ServiceRegistration): ServiceEndpoint {
  const { service, host, port, metadata = {}, weight = 1, version, zone } = registration;
  validate.assertServiceName(service, 'ServiceRegistry.register()');
  validate.assertAdvertisedHost(host, service);
  validate.assertPort(port, service);
  const id = registration.id ?? formatAddress(host, port);
  validate.assertInstanceId(id, service);
  validate.assertWeight(weight, service);
  validate.assertMetadata(metadata, service);
  validate.assertOptionalLabel(version, service, 'version');
  validate.assertOptionalLabel(zone, service, 'zone');
  return {
    service,
    id,
    host,
    port,
    address: formatAddress(host, port),
    metadata: { ...metadata },
    weight,
    ...(version === undefined ? {} : { version }),
    ...(zone === undefined ? {} : { zone }),
  };
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
