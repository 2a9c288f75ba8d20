import { Inject, Injectable, type BeforeApplicationShutdown } from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Observable } from 'rxjs';
import { RESOLVED_DISCOVERY_OPTIONS } from '../discovery.constants.js';
import type { ResolvedDiscoveryOptions } from '../options/discovery-module-options.interface.js';
import { checkRegistration } from './registration-checks.js';
import { RegistrationReconciler } from './registration-reconciler.js';
import type { RegistrationEvent } from './registration-events.js';
import type { RegistrationState, ServiceRegistration } from './service-registration.interface.js';
import { toEndpoint } from './to-endpoint.js';
import { messages } from '../discovery.messages.js';
import { DiscoveryOptionsError } from '../errors.js';
import { isUp, type EndpointStatus } from '../service-endpoint.interface.js';
import { withTimeout } from '../util/with-timeout.js';

const endpointStatuses: readonly EndpointStatus[] = ['up', 'draining', 'down'];

/**
 * This process' registrations in etcd: one lease for all of them, kept alive, and put back whenever
 * the lease or a key is lost. The `@Discoverable()` classes are registered through the same
 * machinery; apps that register by hand inject this.
 */
@Injectable()
export class ServiceRegistry implements BeforeApplicationShutdown {
  /** Registered, lease lost, re-registered, deregistered, retrying …; completes at shutdown. */
  readonly events$: Observable<RegistrationEvent>;

  constructor(
    @Inject(RESOLVED_DISCOVERY_OPTIONS) private readonly options: ResolvedDiscoveryOptions,
    private readonly reconciler: RegistrationReconciler,
  ) {
    this.events$ = reconciler.events$;
  }

  /** The id of the lease all registrations of this process share, while it is alive. */
  get leaseId(): string | undefined {
    return this.reconciler.leaseId;
  }

  /** A snapshot of this process' registrations. */
  registrations(): RegistrationState[] {
    return this.reconciler.states();
  }

  /**
   * Registers one instance and resolves once its key is in etcd. While etcd is unreachable it keeps
   * trying (and so does the promise); invalid input throws at once with what to fix
   * (`DiscoveryOptionsError`), and so does an instance already registered.
   * @throws RegistryClosedError once the app is shutting down (the registry has closed); a
   *   registration still pending then is rejected with it too.
   */
  async register(registration: ServiceRegistration): Promise<RegistrationState> {
    checkRegistration(registration);
    return this.reconciler.add(toEndpoint({ ...registration, zone: registration.zone ?? this.options.zone }));
  }

  /**
   * Sets the status of this process' registrations (only those of `service`, if given) in place —
   * same key, same lease — and resolves once etcd has it. Only `'up'` endpoints are picked: `'down'`
   * takes an instance out of every caller's picks while it stays listed; `'up'` puts it back.
   * Without `service` it is this app's status: registrations added later start with it too.
   */
  setStatus(status: EndpointStatus, service?: string): Promise<void> {
    if (!endpointStatuses.includes(status)) throw new DiscoveryOptionsError(messages.badStatus(status));
    return this.reconciler.setStatus(status, service);
  }

  /** Removes the instances of `service` (only the one with `id`, if given) and waits for etcd to drop them. */
  deregister(service: string, id?: string): Promise<void> {
    return this.reconciler.remove(service, id);
  }

  /**
   * Revokes the lease, which removes every registration at once, and stops everything that talks to
   * etcd for the registry. Shutdown calls it; never throws.
   */
  close(): Promise<void> {
    return this.reconciler.close();
  }

  /**
   * Before the servers close: the registrations turn `'draining'` (callers stop picking this
   * instance while it still serves), `drainMs` passes, then the lease is revoked. Draining comes
   * first even without `drainMs`: callers then know the deletion that follows is a shutdown, not a
   * loss, and never hold it (self-preservation).
   */
  async beforeApplicationShutdown(): Promise<void> {
    const { drainMs, connectTimeoutMs } = this.options;
    // Only an instance still picked has callers to warn; one 'down' is not picked already.
    if (
      this.registrations().some((registration) => registration.state === 'registered' && isUp(registration.endpoint))
    ) {
      // Bounded: with etcd away, draining cannot be said, and shutdown must go on.
      await withTimeout(
        this.setStatus('draining'),
        connectTimeoutMs,
        () => new Error('draining not written in time'),
      ).catch(() => undefined);
      if (drainMs > 0) await sleep(drainMs);
    }
    await this.close();
  }
}
