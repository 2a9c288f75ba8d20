import { Inject, Injectable, type LoggerService, type OnApplicationShutdown } from '@nestjs/common';
import { distinctUntilChanged, EmptyError, filter, firstValueFrom, map, Observable, tap, throwError, timeout } from 'rxjs';
import type { LoadBalancingStrategy } from '../balancing/load-balancing-strategy.js';
import { StrategyResolver } from '../balancing/strategy-resolver.js';
import { RESOLVED_DISCOVERY_OPTIONS } from '../discovery.constants.js';
import { messages } from '../discovery.messages.js';
import { DiscoveryClosedError, DiscoveryOptionsError, DiscoveryTimeoutError } from '../errors.js';
import { servicePrefix } from '../codec/endpoint-key.js';
import { EtcdGateway, type PrefixList } from '../etcd/etcd-gateway.js';
import { describeEtcdFailure, delay } from '../etcd/failure-words.js';
import type { ResolvedDiscoveryOptions } from '../options/discovery-module-options.interface.js';
import { assertServiceName } from '../options/validation.js';
import type { ServiceEndpoint } from '../service-endpoint.interface.js';
import type { EndpointChange } from './endpoint-change.interface.js';
import { NamespaceWatch } from './namespace-watch.js';
import type { PrefixWatchSettings } from './prefix-watch.js';
import { ServiceWatch } from './service-watch.js';
import { callWithFailover, type CallOptions } from './call-with-failover.js';
import { ServicePicker } from './service-picker.js';
import { countSubscriber } from './shared-subscription.js';
import { FilteredLists, type EndpointFilter } from './subset.js';
import { libraryLogger } from '../util/library-logger.js';

interface WatchHandle {
  readonly watch: ServiceWatch;
  /** Picks from the watch's lists: status, ejections, subsets, zone, strategy. */
  readonly picker: ServicePicker;
  subscribers: number;
  /** Kept until shutdown: required services, and services read through getEndpoints()/pick(). */
  pinned: boolean;
}

/** How `pick()` chooses: the hash key of `ConsistentHashStrategy`, and a subset. */
export interface PickOptions {
  key?: string;
  where?: EndpointFilter;
}

/** Two lists with the same endpoints, in order. */
function sameEndpoints(a: readonly ServiceEndpoint[], b: readonly ServiceEndpoint[]): boolean {
  return a.length === b.length && a.every((endpoint, index) => endpoint === b[index]);
}

/**
 * Live endpoints of services, from one etcd list-then-watch per service, shared by every
 * subscriber and every `pick()`. Inject it with `@InjectDiscovery()`.
 */
@Injectable()
export class DiscoveryClient implements OnApplicationShutdown {
  private readonly logger: LoggerService;
  private readonly watches = new Map<string, WatchHandle>();
  private namespaceWatch: { watch: NamespaceWatch; subscribers: number } | undefined;
  private readonly settings: PrefixWatchSettings;
  private readonly unreadableValues = new Map<string, string>();
  private closed = false;

  constructor(
    @Inject(RESOLVED_DISCOVERY_OPTIONS) private readonly options: ResolvedDiscoveryOptions,
    private readonly gateway: EtcdGateway,
    private readonly strategies: StrategyResolver,
  ) {
    this.logger = libraryLogger('DiscoveryClient', options);
    this.settings = { resyncIntervalMs: options.resyncIntervalMs, retry: options.retry, etcdHosts: options.etcd.hosts };
  }

  /**
   * The endpoints of `service`, sorted by id: the current list on subscribe (once read from etcd),
   * then a new list on every change. Completes at shutdown. The etcd watch behind it is shared, and
   * stops when the last subscriber leaves (unless the service is required or was picked from).
   */
  endpoints$(service: string, { where }: { where?: EndpointFilter } = {}): Observable<readonly ServiceEndpoint[]> {
    if (where === undefined) return this.shared(service, (watch) => watch.endpoints$);
    // Within the subset: a new list only when the subset changed.
    const subsets = new FilteredLists();
    return this.shared(service, (watch) => watch.endpoints$).pipe(
      map((list) => subsets.of(list, where)),
      distinctUntilChanged(sameEndpoints),
    );
  }

  /**
   * Added / removed / updated endpoints of `service` after its first list (which `endpoints$` and
   * `getEndpoints` give), with the etcd revision of each change.
   */
  changes$(service: string): Observable<EndpointChange> {
    return this.shared(service, (watch) => watch.changes$);
  }

  /** The names of the services registered under the namespace, sorted; a new list when it changes. */
  services$(): Observable<readonly string[]> {
    return new Observable<readonly string[]>((subscriber) => {
      if (this.closed) return subscriber.complete();
      this.namespaceWatch ??= {
        watch: new NamespaceWatch(this.gateway, this.options.namespace, this.settings, (error, nextAttemptMs) =>
          this.logger.warn(`Listing the namespace: ${describeEtcdFailure(error, this.options.etcd.hosts)}; retry in ${delay(nextAttemptMs)}`),
        ),
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
   * The cached endpoints of `service`, synchronously. A service not watched yet is watched from now
   * on (and this first call returns []): declare the services you call in `requires`.
   */
  getEndpoints(service: string): readonly ServiceEndpoint[] {
    return this.pinnedWatch(service).current;
  }

  /**
   * One `'up'` endpoint of `service`, not ejected, chosen by its strategy from the cache: no etcd
   * request. The second argument is the hash key, or `{ key?, where? }` to pick within a subset.
   * With `zone` set, endpoints of this zone are preferred while it has any to pick.
   * @throws NoEndpointAvailableError when there is none to pick (naming the subset, if any).
   */
  pick(service: string, options?: string | PickOptions): ServiceEndpoint {
    const handle = this.watches.get(service) ?? this.handleFor(service);
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
    return (this.watches.get(service) ?? this.handleFor(service)).picker.pickExcept(tried, key, where);
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
  async waitFor(
    service: string,
    { count = 1, timeoutMs = 10_000 }: { count?: number; timeoutMs?: number } = {},
  ): Promise<readonly ServiceEndpoint[]> {
    if (!Number.isInteger(count) || count < 1 || !(timeoutMs > 0)) {
      throw new DiscoveryOptionsError(`waitFor("${service}") needs a whole count ≥ 1 and a timeoutMs > 0.`);
    }
    let have = 0;
    const enough = this.endpoints$(service).pipe(
      tap((list) => (have = list.length)),
      filter((list) => list.length >= count),
      timeout({
        first: timeoutMs,
        with: () => throwError(() => new DiscoveryTimeoutError(messages.waitTimeout(service, count, timeoutMs, have))),
      }),
    );
    try {
      return await firstValueFrom(enough);
    } catch (error) {
      if (error instanceof EmptyError) throw new DiscoveryClosedError(messages.discoveryClosed());
      throw error;
    }
  }

  /**
   * Watches `services` until shutdown; resolves once each has been listed. Bootstrap calls it. The
   * first lists of the services not watched yet are read in batches, a few requests for them all.
   */
  async watchRequired(services: readonly string[]): Promise<void> {
    const fresh = services.filter((service) => !this.watches.has(service));
    if (fresh.length > 1) {
      const lists = this.gateway.listMany(fresh.map((service) => servicePrefix(this.options.namespace, service)));
      lists.catch(() => undefined); // each watch then lists on its own, with its own retries
      fresh.forEach((service, index) => this.handleFor(service, lists.then((all) => all[index])));
    }
    await Promise.all(services.map((service) => this.pinnedWatch(service).ready));
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
    if (this.closed) return;
    this.closed = true;
    const stops = [...this.watches.values()].map((handle) => handle.watch.stop());
    if (this.namespaceWatch) stops.push(this.namespaceWatch.watch.stop());
    await Promise.all(stops);
  }

  private shared<T>(service: string, select: (watch: ServiceWatch) => Observable<T>): Observable<T> {
    assertServiceName(service, 'DiscoveryClient');
    return new Observable<T>((subscriber) => {
      if (this.closed) return subscriber.complete();
      const handle = this.handleFor(service);
      return countSubscriber(handle, select(handle.watch), subscriber, () => {
        if (handle.pinned || this.watches.get(service) !== handle) return;
        this.watches.delete(service);
        void handle.watch.stop();
      });
    });
  }

  private pinnedWatch(service: string): ServiceWatch {
    const handle = this.handleFor(service);
    handle.pinned = true;
    return handle.watch;
  }

  /**
   * The watch of `service`, started on first use. The name is checked here, once per service, so that
   * every entry point (pick() included) gets the same clear error without a check per call; and no
   * watch starts once the client is closed (it would hold a timer on a closed etcd client).
   */
  private handleFor(service: string, batchedList?: Promise<PrefixList | undefined>): WatchHandle {
    let handle = this.watches.get(service);
    if (!handle) {
      assertServiceName(service, 'DiscoveryClient');
      if (this.closed) throw new DiscoveryClosedError(messages.discoveryClosed());
      const watch = new ServiceWatch(this.gateway, this.options.namespace, service, this.settings, this.logger, this.unreadableValues, batchedList);
      const { outlierEjection, zone, zonePreference } = this.options;
      const picker = new ServicePicker(service, watch, this.strategies.forService(service), outlierEjection, zonePreference ? zone : undefined);
      handle = { watch, picker, subscribers: 0, pinned: false };
      this.watches.set(service, handle);
    }
    return handle;
  }
}
