import { Inject, Injectable, type LoggerService, type OnApplicationShutdown } from '@nestjs/common';
import { distinctUntilChanged, map, Observable } from 'rxjs';
import type { LoadBalancingStrategy } from '../balancing/load-balancing-strategy.js';
import { StrategyResolver } from '../balancing/strategy-resolver.js';
import { RESOLVED_DISCOVERY_OPTIONS } from '../discovery.constants.js';
import { EtcdGateway } from '../etcd/etcd-gateway.js';
import { describeEtcdFailure, delay } from '../etcd/failure-words.js';
import type { ResolvedDiscoveryOptions } from '../options/discovery-module-options.interface.js';
import type { ServiceEndpoint } from '../service-endpoint.interface.js';
import { libraryLogger } from '../util/library-logger.js';
import { CallCounts } from '../calls/call-counts.js';
import { callWithFailover, type CallOptions } from '../calls/call-with-failover.js';
import type { EndpointChange } from '../watch/endpoint-change.interface.js';
import { NamespaceWatch } from '../catalog/namespace-watch.js';
import { CatalogWatch } from '../catalog/catalog-watch.js';
import type { Catalog, CatalogService, PatternKind } from '../catalog/catalog.interface.js';
import { normalisedPattern } from '../codec/normalised-pattern.js';
import { messages } from '../discovery.messages.js';
import { DiscoveryClosedError, DiscoveryOptionsError } from '../errors.js';
import { ServiceWatches } from '../watch/service-watches.js';
import { countSubscriber } from '../watch/shared-subscription.js';
import { FilteredLists, sameEndpoints, type EndpointFilter } from '../picking/subset.js';
import { waitForEndpoints } from './wait-for-endpoints.js';

/** How `pick()` chooses: the hash key of `ConsistentHashStrategy`, and a subset. */
export interface PickOptions {
  key?: string;
  where?: EndpointFilter;
}

/**
 * Live endpoints of services, from one etcd list-then-watch per service, shared by every
 * subscriber and every `pick()`. Inject it with `@InjectDiscovery()`.
 */
@Injectable()
export class DiscoveryClient implements OnApplicationShutdown {
  private readonly logger: LoggerService;
  private readonly watches: ServiceWatches;
  /** This app's calls per instance, through `call()` and the client proxies. */
  readonly callCounts = new CallCounts();
  private namespaceWatch: { watch: NamespaceWatch; subscribers: number } | undefined;
  private catalogWatch: { watch: CatalogWatch; subscribers: number; pinned: boolean } | undefined;

  constructor(
    @Inject(RESOLVED_DISCOVERY_OPTIONS) private readonly options: ResolvedDiscoveryOptions,
    private readonly gateway: EtcdGateway,
    private readonly strategies: StrategyResolver,
  ) {
    this.logger = libraryLogger('DiscoveryClient', options);
    this.watches = new ServiceWatches(options, gateway, strategies, this.logger);
  }

  /** The key prefix services are registered under (`namespace` in the options). */
  get namespace(): string {
    return this.options.namespace;
  }

  /**
   * The endpoints of `service`, sorted by id: the current list on subscribe (once read from etcd),
   * then a new list on every change. Completes at shutdown. The etcd watch behind it is shared, and
   * stops when the last subscriber leaves (unless the service is required or was picked from).
   */
  endpoints$(service: string, { where }: { where?: EndpointFilter } = {}): Observable<readonly ServiceEndpoint[]> {
    if (where === undefined) return this.watches.shared(service, (watch) => watch.endpoints$);
    // Within the subset: a new list only when the subset changed.
    const subsets = new FilteredLists();
    return this.watches.shared(service, (watch) => watch.endpoints$).pipe(
      map((list) => subsets.of(list, where)),
      distinctUntilChanged(sameEndpoints),
    );
  }

  /**
   * Added / removed / updated endpoints of `service` after its first list (which `endpoints$` and
   * `getEndpoints` give), with the etcd revision of each change.
   */
  changes$(service: string): Observable<EndpointChange> {
    return this.watches.shared(service, (watch) => watch.changes$);
  }

  /** The names of the services registered under the namespace, sorted; a new list when it changes. */
  services$(): Observable<readonly string[]> {
    return new Observable<readonly string[]>((subscriber) => {
      if (this.watches.closed) return subscriber.complete();
      this.namespaceWatch ??= {
        watch: new NamespaceWatch(this.gateway, this.options.namespace, this.watches.settings, this.namespaceListFailed),
        subscribers: 0,
      };
      const handle = this.namespaceWatch;
      return countSubscriber(handle, handle.watch.services$, subscriber, () => {
        if (this.namespaceWatch !== handle) return;
        this.namespaceWatch = undefined;
        void handle.watch.stop();
      });
    });
  }

  /**
   * Every service under the namespace with its endpoints and the patterns they handle (see
   * `Catalog`): the catalog on subscribe, once the namespace has been listed, then one emission per
   * change — from one watch of the whole namespace, shared by every subscriber, stopped when the
   * last leaves (unless `whoHandles()` or a client that routes by pattern keeps it).
   */
  catalog$(): Observable<Catalog> {
    return new Observable<Catalog>((subscriber) => {
      if (this.watches.closed) return subscriber.complete();
      const handle = this.catalogHandle();
      return countSubscriber(handle, handle.watch.catalog$, subscriber, () => {
        if (handle.pinned || this.catalogWatch !== handle) return;
        this.catalogWatch = undefined;
        void handle.watch.stop();
      });
    });
  }

  /**
   * The services whose instances handle `pattern` (as `send()` or `emit()` name it: a string, or an
   * object in any key order), sorted; synchronously, from the catalog. The first call starts the
   * catalog's watch, kept until shutdown, and returns [] until the namespace has been listed: an app
   * that asks at start should `await discovery.watchCatalog()` first.
   */
  whoHandles(pattern: unknown, kind: PatternKind = 'message'): readonly string[] {
    if (kind !== 'message' && kind !== 'event') throw new DiscoveryOptionsError(messages.badPatternKind(kind));
    const handle = this.catalogHandle();
    handle.pinned = true;
    return handle.watch.servicesFor(normalisedPattern(pattern), kind);
  }

  /** Watches the catalog until shutdown; resolves once the namespace has been listed. Bootstrap calls it for clients that route by pattern. */
  watchCatalog(): Promise<void> {
    const handle = this.catalogHandle();
    handle.pinned = true;
    return handle.watch.ready;
  }

  /** The services of the catalog now, synchronously: [] until it is watched and listed. */
  catalogServices(): readonly CatalogService[] {
    return this.catalogWatch?.watch.current ?? [];
  }

  /** Whether the catalog has been listed (false when it is not watched). */
  get catalogLoaded(): boolean {
    return this.catalogWatch?.watch.isLoaded ?? false;
  }

  private catalogHandle(): { watch: CatalogWatch; subscribers: number; pinned: boolean } {
    if (this.watches.closed) throw new DiscoveryClosedError(messages.discoveryClosed());
    this.catalogWatch ??= {
      watch: new CatalogWatch(this.gateway, this.options.namespace, this.watches.settings, this.watches.decoder, this.namespaceListFailed),
      subscribers: 0,
      pinned: false,
    };
    return this.catalogWatch;
  }

  private readonly namespaceListFailed = (error: Error, nextAttemptMs: number): void =>
    this.logger.warn(`Listing the namespace: ${describeEtcdFailure(error, this.options.etcd.hosts)}; retry in ${delay(nextAttemptMs)}`);

  /**
   * The cached endpoints of `service`, synchronously. A service not watched yet is watched from now
   * on (and this first call returns []): declare the services you call in `requires`.
   */
  getEndpoints(service: string): readonly ServiceEndpoint[] {
    return this.watches.pinned(service).current;
  }

  /**
   * One `'up'` endpoint of `service`, not ejected, chosen by its strategy from the cache: no etcd
   * request. The second argument is the hash key, or `{ key?, where? }` to pick within a subset.
   * With `zone` set, endpoints of this zone are preferred while it has any to pick.
   * @throws NoEndpointAvailableError when there is none to pick (naming the subset, if any).
   */
  pick(service: string, options?: string | PickOptions): ServiceEndpoint {
    const handle = this.watches.get(service) ?? this.watches.handleFor(service);
    handle.pinned = true;
    const { picker, watch } = handle;
    if (typeof options !== 'object') {
      // The hot path, inline: every endpoint up, none ejected, no zone — the strategy gets the list as it is.
      if (picker.plain && watch.allUp && picker.outliers.none) {
        picker.context.key = options;
        const endpoint = picker.strategy.pick(watch.current, picker.context);
        if (endpoint !== undefined) return endpoint;
      }
      return picker.pick(options);
    }
    // No destructuring of options: a pick allocates nothing.
    return options.where === undefined ? picker.pick(options.key) : picker.pickWithin(options.key, options.where);
  }

  /**
   * One `'up'` endpoint of `service` other than those in `tried` (instance keys, `id@address`): the
   * strategy's choice among those not ejected, else among the ejected; undefined when all were tried.
   */
  pickExcept(service: string, tried: ReadonlySet<string>, { key, where }: PickOptions = {}): ServiceEndpoint | undefined {
    return (this.watches.get(service) ?? this.watches.handleFor(service)).picker.pickExcept(tried, key, where);
  }

  /**
   * Calls `fn` with an endpoint of `service` and resolves with its result. A connection failure
   * (refused, reset, or a timeout before any answer — `fetch failed` included) is reported, and the
   * call moves on to an endpoint not tried yet, up to `retries` more; any other error is the
   * answer, and is thrown as it is. Calls in flight are reported to a `LeastOutstandingStrategy`.
   * @throws NoEndpointAvailableError when `service` has no endpoint.
   */
  call<T>(service: string, fn: (endpoint: ServiceEndpoint) => Promise<T>, options: CallOptions = {}): Promise<T> {
    return callWithFailover(this, service, fn, options);
  }

  /** A call to `endpoint` failed before any answer: counts toward ejecting it (see `outlierEjection`). */
  reportFailure(endpoint: ServiceEndpoint): void {
    this.watches.get(endpoint.service)?.picker.reportFailure(endpoint);
  }

  /** A call to `endpoint` was answered: its count of failures starts over. */
  reportSuccess(endpoint: ServiceEndpoint): void {
    this.watches.get(endpoint.service)?.picker.reportSuccess(endpoint);
  }

  /** The strategy that picks for `service`: its entry in `strategies`, or the app's default. */
  strategyFor(service: string): LoadBalancingStrategy {
    return this.strategies.forService(service);
  }

  /** Resolves with the list once `service` has at least `count` endpoints; rejects after `timeoutMs`. */
  waitFor(service: string, { count = 1, timeoutMs = 10_000 }: { count?: number; timeoutMs?: number } = {}): Promise<readonly ServiceEndpoint[]> {
    return waitForEndpoints(() => this.endpoints$(service), service, count, timeoutMs);
  }

  /**
   * Watches `services` until shutdown; resolves once each has been listed. Bootstrap calls it. The
   * first lists of the services not watched yet are read in batches, a few requests for them all.
   */
  watchRequired(services: readonly string[]): Promise<void> {
    return this.watches.watchRequired(services);
  }

  /** Why the last attempt to list `service` failed, while its list could not be read. */
  lastListError(service: string): Error | undefined {
    return this.watches.get(service)?.watch.lastListError;
  }

  /**
   * Whether the list of `service` is readable now — listed at least once, and the last attempt to
   * list it did not fail — and how many endpoints it holds. Health checks read it; it starts no watch.
   */
  listStatus(service: string): { listed: boolean; endpoints: number; error: Error | undefined } {
    const watch = this.watches.get(service)?.watch;
    return { listed: watch?.isLoaded ?? false, endpoints: watch?.current.length ?? 0, error: watch?.lastListError };
  }

  /** Stops every watch and completes every observable; after it, lists stay as they were. */
  async onApplicationShutdown(): Promise<void> {
    if (this.watches.closed) return;
    await Promise.all([this.watches.close(), this.namespaceWatch?.watch.stop(), this.catalogWatch?.watch.stop()]);
  }
}
