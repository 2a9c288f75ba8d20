import {
  Inject,
  Injectable,
  Logger,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Subscription } from 'rxjs';
import { RESOLVED_DISCOVERY_OPTIONS } from '../discovery.constants.js';
import { messages } from '../discovery.messages.js';
import { DiscoveryOptionsError, RegistryClosedError } from '../errors.js';
import type { ResolvedDiscoveryOptions } from '../options/discovery-module-options.interface.js';
import { advertisedHost } from '../util/host-address.js';
import { untilAccepting } from '../util/until-accepting.js';
import { DiscoverableExplorer, type ServiceDeclaration } from './discoverable.explorer.js';
import { ListeningAddress } from './listening-address.js';
import { ServiceRegistry } from './service-registry.js';

/**
 * Drives the registration of the `@Discoverable()` classes through the app's life: check etcd at
 * bootstrap, register once the server accepts connections, deregister (and drain) before the
 * servers close.
 */
@Injectable()
export class RegistrationLifecycle implements OnApplicationBootstrap, BeforeApplicationShutdown, OnApplicationShutdown {
  private readonly logger = new Logger('DiscoveryModule');
  private listening: Subscription | undefined;
  private readonly shutdown = new AbortController();

  constructor(
    @Inject(RESOLVED_DISCOVERY_OPTIONS) private readonly options: ResolvedDiscoveryOptions,
    private readonly explorer: DiscoverableExplorer,
    private readonly registry: ServiceRegistry,
    private readonly listeningAddress: ListeningAddress,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const declarations = this.explorer.declarations;
    if (declarations.length === 0) return;
    const address$ = this.listeningAddress.whenListening();
    if (!address$) {
      // No server to wait for (e.g. an application context): every port must have been given.
      const missing = declarations.find((declaration) => declaration.port === undefined);
      if (missing) throw new DiscoveryOptionsError(messages.noPort(missing.name));
    }
    if (this.options.registration === 'fail-fast') {
      try {
        await this.registry.connect();
        for (const declaration of declarations) await this.registry.checkWritable(declaration.name);
      } catch (error) {
        await this.registry.close();
        throw error;
      }
    }
    if (!address$) {
      this.registerAll(declarations, undefined);
      return;
    }
    this.listening = address$.subscribe((address) => this.registerAll(declarations, address));
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.listening?.unsubscribe();
    this.shutdown.abort();
    const wasRegistered = this.registry.registrations().length > 0;
    await this.registry.close();
    if (wasRegistered && this.options.drainMs > 0) await sleep(this.options.drainMs);
  }

  /** For shutdown paths that skip `beforeApplicationShutdown` (the registry itself closes before the etcd client). */
  onApplicationShutdown(): void {
    this.listening?.unsubscribe();
    this.shutdown.abort();
  }

  private registerAll(declarations: readonly ServiceDeclaration[], bound: AddressInfo | undefined): void {
    for (const declaration of declarations) {
      const { name, className: _className, requires: _requires, host, port, ...rest } = declaration;
      const advertisedPort = port ?? bound?.port;
      if (advertisedPort === undefined) {
        this.logger.error(messages.noPort(name));
        continue;
      }
      const advertised = host ?? advertisedHost(bound?.address ?? '0.0.0.0');
      // A server that told its address is listening; one that did not (gRPC) is probed first.
      const ready = bound ? Promise.resolve(true) : untilAccepting(host ?? '127.0.0.1', advertisedPort, this.shutdown.signal);
      ready
        .then((accepting) => {
          if (!accepting) return undefined;
          return this.registry.register({ ...rest, service: name, host: advertised, port: advertisedPort });
        })
        .catch((error: Error) => {
          // Closing before the first put is normal at shutdown; anything else is worth a line.
          if (!(error instanceof RegistryClosedError)) this.logger.error(`Cannot register "${name}": ${error.message}`);
        });
    }
  }
}
