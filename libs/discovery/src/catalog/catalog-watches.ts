import { Inject, Injectable, type LoggerService, type OnApplicationShutdown } from '@nestjs/common';
import type { Observable } from 'rxjs';
import { normalisedPattern } from '../codec/normalised-pattern.js';
import { RESOLVED_DISCOVERY_OPTIONS } from '../discovery.constants.js';
import { messages } from '../discovery.messages.js';
import { DiscoveryOptionsError } from '../errors.js';
import { EtcdGateway } from '../etcd/etcd-gateway.js';
import { describeEtcdFailure } from '../etcd/failure-words.js';
import { formatDuration } from '../util/format-duration.js';
import type { ResolvedDiscoveryOptions } from '../options/discovery-module-options.interface.js';
import { libraryLogger } from '../util/library-logger.js';
import { ServiceWatches } from '../watch/service-watches.js';
import { SharedWatches } from '../watch/shared-watches.js';
import type { Catalog, CatalogService, PatternKind } from './catalog.interface.js';
import { CatalogWatch } from './catalog-watch.js';
import { NamespaceWatch } from './namespace-watch.js';

/** Both watches cover the whole namespace: one key each. */
const NAMESPACE = '';

/**
 * The app's watches of the whole namespace (an internal provider): the service names
 * (`services$()`) and the catalog (`catalog$()`, `whoHandles()`, calls by pattern, the dashboard).
 * Each is shared by every subscriber, stops when its last subscriber leaves unless pinned, and both
 * stop at shutdown.
 */
@Injectable()
export class CatalogWatches implements OnApplicationShutdown {
  private readonly logger: LoggerService;
  private readonly names: SharedWatches<NamespaceWatch>;
  private readonly catalogs: SharedWatches<CatalogWatch>;

  constructor(
    @Inject(RESOLVED_DISCOVERY_OPTIONS) private readonly options: ResolvedDiscoveryOptions,
    gateway: EtcdGateway,
    services: ServiceWatches,
  ) {
    this.logger = libraryLogger('DiscoveryClient', options);
    const { namespace } = options;
    this.names = new SharedWatches(() => new NamespaceWatch(gateway, namespace, services.settings, this.listFailed));
    // The catalog shares the service watches' decoder: a value is warned about once, whoever reads it first.
    this.catalogs = new SharedWatches(
      () => new CatalogWatch(gateway, namespace, services.settings, services.decoder, this.listFailed),
    );
  }

  /** The names of the services registered under the namespace, sorted; a new list when it changes. */
  services$(): Observable<readonly string[]> {
    return this.names.observe(NAMESPACE, (watch) => watch.services$);
  }

  /** The catalog once the namespace has been listed, then one emission per change. */
  catalog$(): Observable<Catalog> {
    return this.catalogs.observe(NAMESPACE, (watch) => watch.catalog$);
  }

  /** The services whose instances handle `pattern` (see `DiscoveryClient.whoHandles`); pins the catalog. */
  whoHandles(pattern: unknown, kind: PatternKind): readonly string[] {
    if (kind !== 'message' && kind !== 'event') throw new DiscoveryOptionsError(messages.badPatternKind(kind));
    return this.catalogs.pin(NAMESPACE).servicesFor(normalisedPattern(pattern), kind);
  }

  /** Watches the catalog until shutdown; resolves once the namespace has been listed. */
  watchCatalog(): Promise<void> {
    return this.catalogs.pin(NAMESPACE).ready;
  }

  /** The services of the catalog now: [] until it is watched and listed. */
  get services(): readonly CatalogService[] {
    return this.catalogs.get(NAMESPACE)?.current ?? [];
  }

  /** Whether the catalog has been listed (false when it is not watched). */
  get loaded(): boolean {
    return this.catalogs.get(NAMESPACE)?.isLoaded ?? false;
  }

  /** The key prefix services are registered under. */
  get namespace(): string {
    return this.options.namespace;
  }

  async onApplicationShutdown(): Promise<void> {
    await Promise.all([this.names.close(), this.catalogs.close()]);
  }

  private readonly listFailed = (error: Error, nextAttemptMs: number): void => {
    this.logger.warn(
      `Listing the namespace: ${describeEtcdFailure(error, this.options.etcd.hosts)}; ` +
        `retry in ${formatDuration(nextAttemptMs)}`,
    );
  };
}
