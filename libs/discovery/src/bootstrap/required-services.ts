import { Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { RESOLVED_DISCOVERY_OPTIONS } from '../discovery.constants.js';
import { messages } from '../discovery.messages.js';
import { EtcdUnavailableError } from '../errors.js';
import { isRefusal } from '../etcd/etcd-errors.js';
import { describeError, describeEtcdFailure } from '../etcd/failure-words.js';
import type { ResolvedDiscoveryOptions } from '../options/discovery-module-options.interface.js';
import { DiscoverableExplorer } from '../registration/discoverable.explorer.js';
import { ClientProxyParts } from '../transport/client-proxy-parts.js';
import { withTimeout } from '../util/with-timeout.js';
import { CatalogWatches } from '../catalog/catalog-watches.js';
import { waitForEndpoints } from '../discovery/wait-for-endpoints.js';
import { ServiceWatches } from '../watch/service-watches.js';
import { TrafficPolicies } from '../policy/traffic-policies.js';

/**
 * The services this app calls, collected in one place — `requires` in the options and in
 * `@Discoverable()` declarations, and the service of every `DiscoveryClientsModule` client — and
 * watched from bootstrap, so that the first `pick()` or `send()` after the app is up sees the
 * endpoints that exist. In 'fail-fast' mode bootstrap waits for their first list; with
 * `waitForRequiredMs`, also for one endpoint of each. A client that routes by pattern requires the
 * catalog, and then the services whose instances publish patterns.
 */
@Injectable()
export class RequiredServices implements OnApplicationBootstrap {
  constructor(
    @Inject(RESOLVED_DISCOVERY_OPTIONS) private readonly options: ResolvedDiscoveryOptions,
    private readonly explorer: DiscoverableExplorer,
    private readonly watches: ServiceWatches,
    private readonly catalog: CatalogWatches,
    private readonly clientParts: ClientProxyParts,
    private readonly policies: TrafficPolicies,
  ) {}

  /** The services of the catalog whose instances publish a pattern or an event. */
  private handlingServices(): string[] {
    return this.catalog.services
      .filter((service) => service.patterns.length + service.events.length > 0)
      .map((service) => service.service);
  }

  /** Every required service, once each. Every name was checked where it was declared. */
  collect(): string[] {
    const fromDeclarations = this.explorer.declarations.flatMap((declaration) => declaration.requires ?? []);
    const fromClients = this.clientParts.declared.flatMap((client) => client.service ?? []);
    return [...new Set([...this.options.requires, ...fromDeclarations, ...fromClients])];
  }

  /** Whether a client routes by pattern: then the catalog is required too. */
  needsCatalog(): boolean {
    return this.clientParts.declared.some((client) => client.byPattern);
  }

  async onApplicationBootstrap(): Promise<void> {
    const services = this.collect();
    const catalog = this.needsCatalog();
    if (services.length === 0 && !catalog) return;
    // With the catalog: also the services that publish patterns, so that the first call by pattern finds their lists.
    const listed = Promise.all([
      this.watches.watchRequired(services),
      services.length > 0 ? this.policies.watchRequired(services) : undefined,
      catalog ? this.catalog.watchCatalog().then(() => this.watches.watchRequired(this.handlingServices())) : undefined,
    ]);
    if (this.options.registration === 'fail-fast') {
      const { connectTimeoutMs, etcd, namespace } = this.options;
      try {
        await withTimeout(listed, connectTimeoutMs, () => {
          const cause = services
            .map((service) => this.watches.listStatus(service).error)
            .find((error) => error !== undefined);
          const awaited = catalog ? [...services, 'the catalog (a client routes by pattern)'] : services;
          return new EtcdUnavailableError(
            messages.requiredListTimeout(
              awaited,
              connectTimeoutMs,
              cause ? describeEtcdFailure(cause, etcd.hosts) : 'no answer yet',
            ),
            cause === undefined ? undefined : { cause },
          );
        });
      } catch (error) {
        if (!isRefusal(error)) throw error;
        throw new EtcdUnavailableError(messages.etcdRefused(etcd.hosts, describeError(error), `${namespace}/`), {
          cause: error,
        });
      }
    } else {
      listed.catch(() => undefined);
    }
    if (this.options.waitForRequiredMs > 0) {
      const timeoutMs = this.options.waitForRequiredMs;
      const lists = (service: string) => () => this.watches.observe(service, (watch) => watch.endpoints$);
      await Promise.all(services.map((service) => waitForEndpoints(lists(service), service, 1, timeoutMs)));
    }
  }
}
