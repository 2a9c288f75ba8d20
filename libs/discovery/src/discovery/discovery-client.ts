import { Injectable } from '@nestjs/common';
import { distinctUntilChanged, map, type Observable } from 'rxjs';
import { CallAttempts } from '../calls/call-attempts.js';
import type { CallCountsView } from '../calls/call-counts.js';
import type { CallOptions } from '../calls/call-options.interface.js';
import type { AttemptContext } from '../calls/run-settings.interface.js';
import type { Catalog, PatternKind } from '../catalog/catalog.interface.js';
import { CatalogWatches } from '../catalog/catalog-watches.js';
import type { DiscoveryFetchInit } from '../http/discovery-fetch.interface.js';
import { ServiceFetch } from '../http/service-fetch.js';
import { ServicePicks, type PickOptions } from '../picking/service-picks.js';
import { FilteredLists, sameEndpoints, type EndpointFilter } from '../picking/subset.js';
import type { ServiceEndpoint } from '../service-endpoint.interface.js';
import type { EndpointChange } from '../watch/endpoint-change.interface.js';
import { ServiceWatches } from '../watch/service-watches.js';
import { waitForEndpoints } from './wait-for-endpoints.js';

/**
 * What an app asks of discovery, in one place: live endpoints of services, picks, calls and the
 * catalog — from one etcd list-then-watch per service (and one of the namespace for the catalog),
 * shared by every subscriber and every `pick()`. Inject it with `@InjectDiscovery()`.
 */
@Injectable()
export class DiscoveryClient {
  constructor(
    private readonly watches: ServiceWatches,
    private readonly catalogs: CatalogWatches,
    private readonly picks: ServicePicks,
    private readonly attempts: CallAttempts,
    private readonly http: ServiceFetch,
  ) {}

  /**
   * The endpoints of `service`, sorted by id: the current list on subscribe (once read from etcd),
   * then a new list on every change. Completes at shutdown. The etcd watch behind it is shared, and
   * stops when the last subscriber leaves (unless the service is required or was picked from).
   */
  endpoints$(service: string, { where }: { where?: EndpointFilter } = {}): Observable<readonly ServiceEndpoint[]> {
    const lists = this.watches.observe(service, (watch) => watch.endpoints$);
    if (where === undefined) return lists;
    // Within the subset: a new list only when the subset changed.
    const subsets = new FilteredLists();
    return lists.pipe(
      map((list) => subsets.of(list, where)),
      distinctUntilChanged(sameEndpoints),
    );
  }

  /**
   * Added / removed / updated endpoints of `service` after its first list (which `endpoints$` and
   * `getEndpoints` give), with the etcd revision of each change.
   */
  changes$(service: string): Observable<EndpointChange> {
    return this.watches.observe(service, (watch) => watch.changes$);
  }

  /** The names of the services registered under the namespace, sorted; a new list when it changes. */
  services$(): Observable<readonly string[]> {
    return this.catalogs.services$();
  }

  /**
   * Every service under the namespace with its endpoints and the patterns they handle (see
   * `Catalog`): the catalog on subscribe, once the namespace has been listed, then one emission per
   * change — from one watch of the whole namespace, shared by every subscriber, stopped when the
   * last leaves (unless `whoHandles()` or a client that routes by pattern keeps it).
   */
  catalog$(): Observable<Catalog> {
    return this.catalogs.catalog$();
  }

  /**
   * The services whose instances handle `pattern` (as `send()` or `emit()` name it: a string, or an
   * object in any key order), sorted; synchronously, from the catalog. The first call starts the
   * catalog's watch, kept until shutdown, and returns [] until the namespace has been listed: an app
   * that asks at start should `await discovery.watchCatalog()` first.
   */
  whoHandles(pattern: unknown, kind: PatternKind = 'message'): readonly string[] {
    return this.catalogs.whoHandles(pattern, kind);
  }

  /** Watches the catalog until shutdown; resolves once the namespace has been listed. */
  watchCatalog(): Promise<void> {
    return this.catalogs.watchCatalog();
  }

  /**
   * The cached endpoints of `service`, synchronously. A service not watched yet is watched from now
   * on (and this first call returns []): declare the services you call in `requires`.
   */
  getEndpoints(service: string): readonly ServiceEndpoint[] {
    return this.watches.pin(service).current;
  }

  /**
   * One `'up'` endpoint of `service`, not ejected, chosen by its strategy from the cache: no etcd
   * request. The second argument is the hash key, or `{ key?, where? }` to pick within a subset.
   * With `zone` set, endpoints of this zone are preferred while it has any to pick.
   * @throws NoEndpointAvailableError when there is none to pick (naming the subset, if any).
   */
  pick(service: string, options?: string | PickOptions): ServiceEndpoint {
    return this.picks.pick(service, options);
  }

  /**
   * Calls `fn` with an endpoint of `service` and resolves with its result. Each attempt gets an
   * `AbortSignal`, aborted when it has no answer within `attemptTimeoutMs`; the whole call ends by
   * `timeoutMs` (`CallTimeoutError`). A connection that failed before any answer (refused, reset —
   * `fetch failed` included) moves the call to an endpoint not tried yet, up to `retries` more; so
   * does an attempt timeout, and a hedge goes out after a while without an answer, for an
   * `idempotent` call. Any other error is the answer, thrown as it is. Defaults: `calls` in the options.
   * @throws NoEndpointAvailableError when `service` has no endpoint.
   */
  call<T>(
    service: string,
    fn: (endpoint: ServiceEndpoint, context: AttemptContext) => Promise<T>,
    options: CallOptions = {},
  ): Promise<T> {
    return this.attempts.call(service, fn, options);
  }

  /**
   * HTTP to a service by name: `fetch('http://log-service/lines?day=1')` goes to an instance of
   * log-service, over a keep-alive connection of its own, and returns the standard `Response`.
   * GET, HEAD, OPTIONS, PUT and DELETE (or `idempotent: true`) are retried on another instance after a
   * connection failure, an attempt timeout or a 502/503/504 (`retryOn`), and hedged; any other request
   * only when it never reached its instance. A 503 with `Retry-After` keeps that instance out of picks
   * for that long. `https://` uses TLS with the service's name as server name (`tls` to change it).
   */
  fetch(input: string | URL, init?: DiscoveryFetchInit): Promise<Response> {
    return this.http.fetch(input, init) as Promise<unknown> as Promise<Response>;
  }

  /** A call of your own to `endpoint` failed before any answer: counts toward ejecting it (see `outlierEjection`). */
  reportFailure(endpoint: ServiceEndpoint): void {
    this.picks.reportFailure(endpoint);
  }

  /** A call of your own to `endpoint` was answered: its count of failures starts over. */
  reportSuccess(endpoint: ServiceEndpoint): void {
    this.picks.reportSuccess(endpoint);
  }

  /**
   * Resolves with the list once `service` has at least `count` endpoints; rejects after `timeoutMs`. The service
   * stays watched until shutdown, as a service picked from does: the `pick()` that follows finds that list.
   */
  waitFor(
    service: string,
    { count = 1, timeoutMs = 10_000 }: { count?: number; timeoutMs?: number } = {},
  ): Promise<readonly ServiceEndpoint[]> {
    const lists = () => {
      const endpoints$ = this.endpoints$(service); // checks the name first
      this.watches.pin(service);
      return endpoints$;
    };
    return waitForEndpoints(lists, service, count, timeoutMs);
  }

  /** This app's calls per instance, through `call()` and its client proxies (read-only; the dashboard shows them). */
  get callCounts(): CallCountsView {
    return this.attempts.countsView;
  }
}
