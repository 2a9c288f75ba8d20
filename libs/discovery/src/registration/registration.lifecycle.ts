import {
  Inject,
  Injectable,
  type BeforeApplicationShutdown,
  type LoggerService,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import type { AddressInfo } from 'node:net';
import type { Subscription } from 'rxjs';
import { RESOLVED_DISCOVERY_OPTIONS } from '../discovery.constants.js';
import { messages } from '../discovery.messages.js';
import { DiscoveryOptionsError, RegistryClosedError } from '../errors.js';
import type { ResolvedDiscoveryOptions } from '../options/discovery-module-options.interface.js';
import { advertisedHost } from '../util/host-address.js';
import { libraryLogger } from '../util/library-logger.js';
import { untilAccepting } from '../util/until-accepting.js';
import { DiscoverableExplorer, type ServiceDeclaration } from './discoverable.explorer.js';
import { ListeningAddress } from './listening-address.js';
import { RegistrationReconciler } from './registration-reconciler.js';
import { StartupChecks } from './startup-checks.js';
import { toEndpoint } from './to-endpoint.js';

/**
 * Registers the `@Discoverable()` classes: checks etcd at bootstrap ('fail-fast'), and registers
 * each once the server accepts connections. Deregistration is the registry's own shutdown hook;
 * here shutdown only stops waiting for a server.
 */
@Injectable()
export class RegistrationLifecycle implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger: LoggerService;
  private listening: Subscription | undefined;
  private readonly shutdown = new AbortController();

  constructor(
    @Inject(RESOLVED_DISCOVERY_OPTIONS) private readonly options: ResolvedDiscoveryOptions,
    private readonly explorer: DiscoverableExplorer,
    private readonly reconciler: RegistrationReconciler,
    private readonly startupChecks: StartupChecks,
    private readonly listeningAddress: ListeningAddress,
  ) {
    this.logger = libraryLogger('DiscoveryModule', options);
  }

  async onApplicationBootstrap(): Promise<void> {
    const declarations = this.explorer.declarations;
    if (declarations.length === 0) return;
    const address$ = this.listeningAddress.whenListening();
    if (!address$) {
      // No server to wait for (e.g. an application context): every port must have been given.
      const missing = declarations.find((declaration) => declaration.port === undefined);
      if (missing) throw new DiscoveryOptionsError(messages.noPort(missing.name));
    }
    if (this.options.registration === 'fail-fast')
      await this.startupChecks.verify(declarations.map((declaration) => declaration.name));
    if (!address$) {
      this.registerAll(declarations, undefined);
      return;
    }
    this.listening = address$.subscribe((address) => this.registerAll(declarations, address));
  }

  beforeApplicationShutdown(): void {
    this.listening?.unsubscribe();
    this.shutdown.abort();
  }

  private registerAll(declarations: readonly ServiceDeclaration[], bound: AddressInfo | undefined): void {
    for (const declaration of declarations) {
      const {
        name,
        className: _className,
        requires: _requires,
        publishPatterns: _publish,
        host,
        port,
        ...rest
      } = declaration;
      const advertisedPort = port ?? bound?.port;
      if (advertisedPort === undefined) {
        this.logger.error(messages.noPort(name));
        continue;
      }
      const advertised = host ?? advertisedHost(bound?.address ?? '0.0.0.0');
      // A server that told its address is listening; one that did not (gRPC) is probed first.
      const ready = bound
        ? Promise.resolve(true)
        : untilAccepting(host ?? '127.0.0.1', advertisedPort, this.shutdown.signal);
      ready
        // The declaration was checked at module init, and the address comes from the server itself.
        .then((accepting) =>
          accepting
            ? this.reconciler.add(
                toEndpoint({
                  ...rest,
                  zone: rest.zone ?? this.options.zone,
                  service: name,
                  host: advertised,
                  port: advertisedPort,
                }),
              )
            : undefined,
        )
        .catch((error: Error) => {
          // Closing before the first put is normal at shutdown; anything else is worth a line.
          if (!(error instanceof RegistryClosedError)) this.logger.error(`Cannot register "${name}": ${error.message}`);
        });
    }
  }
}
