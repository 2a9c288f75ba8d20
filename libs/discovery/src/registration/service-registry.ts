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
   */
  async register(registration: ServiceRegistration): Promise<RegistrationState> {
    checkRegistration(registration);
    return this.reconciler.add(toEndpoint(registration));
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

  /** Deregisters before the servers close, then waits `drainMs` for callers that picked this instance just before. */
  async beforeApplicationShutdown(): Promise<void> {
    const wasRegistered = this.registrations().length > 0;
    await this.close();
    if (wasRegistered && this.options.drainMs > 0) await sleep(this.options.drainMs);
  }
}
