import type { PatternKind } from '../catalog/catalog.interface.js';
import type { CatalogWatches } from '../catalog/catalog-watches.js';
import { normalisedPattern } from '../codec/normalised-pattern.js';
import { messages } from '../discovery.messages.js';
import { NoEndpointAvailableError } from '../errors.js';
import type { ServicePicks } from '../picking/service-picks.js';
import { matcherOf, type EndpointFilter } from '../picking/subset.js';
import type { ServiceEndpoint } from '../service-endpoint.interface.js';
import { withTimeout } from '../util/with-timeout.js';
import type { ServiceWatches } from '../watch/service-watches.js';

/** Where one call goes: a service, and the subset of its instances it may use. */
export interface Route {
  service: string;
  where?: EndpointFilter;
}

/** A route and the instance the service's strategy picked on it. */
export interface PickedRoute {
  route: Route;
  endpoint: ServiceEndpoint;
}

/** How long a call by pattern waits, the first time, for the catalog or a service's first list. */
const FIRST_LIST_WAIT_MS = 5000;

/**
 * The routes of a client that calls by pattern (`byPattern: true`): the services the catalog says
 * handle the pattern, each restricted to its instances that publish it — during a rolling deploy,
 * only those already (or still) handling it. Picks go through each service's own watch, strategy,
 * zone preference and outlier ejection, exactly as for a client of that service.
 */
export class PatternRoutes {
  /** One filter per pattern, kept: a subset is then computed once per list, not per call. */
  private readonly filters = new Map<string, EndpointFilter>();

  constructor(
    private readonly parts: { catalog: CatalogWatches; watches: ServiceWatches; picks: ServicePicks },
    private readonly where: EndpointFilter | undefined,
  ) {}

  /**
   * The services that handle `pattern`. The first call waits for the catalog, and the first call to
   * a service for its list (each at most 5 s); later calls find both in memory.
   */
  async servicesFor(pattern: unknown, kind: PatternKind): Promise<readonly string[]> {
    const { catalog, watches } = this.parts;
    // Not there in time (etcd unreachable): the error below says what is missing.
    if (!catalog.loaded)
      await withTimeout(catalog.watchCatalog(), FIRST_LIST_WAIT_MS, () => new Error('timeout')).catch(() => undefined);
    const services = catalog.whoHandles(pattern, kind);
    const unlisted = services.filter((service) => !watches.listStatus(service).listed);
    if (unlisted.length > 0)
      await withTimeout(watches.watchRequired(unlisted), FIRST_LIST_WAIT_MS, () => new Error('timeout')).catch(
        () => undefined,
      );
    return services;
  }

  /**
   * A message goes to the first of `services` (by name) with an instance to take it. @throws NoEndpointAvailableError
   * naming the pattern.
   */
  pickFirst(services: readonly string[], pattern: unknown, key: string | undefined): PickedRoute {
    for (const service of services) {
      const picked = this.pickOn(service, pattern, 'message', key);
      if (picked !== undefined) return picked;
    }
    throw this.nothingFor(services, pattern, 'message');
  }

  /**
   * An event goes to one instance of each of `services` that has one. @throws NoEndpointAvailableError when none has.
   */
  pickEach(services: readonly string[], pattern: unknown, key: string | undefined): PickedRoute[] {
    const picked = services.flatMap((service) => this.pickOn(service, pattern, 'event', key) ?? []);
    if (picked.length === 0) throw this.nothingFor(services, pattern, 'event');
    return picked;
  }

  private pickOn(
    service: string,
    pattern: unknown,
    kind: PatternKind,
    key: string | undefined,
  ): PickedRoute | undefined {
    const route = { service, where: this.filterFor(normalisedPattern(pattern), kind) };
    try {
      return { route, endpoint: this.parts.picks.pick(service, { key, where: route.where }) };
    } catch (error) {
      if (error instanceof NoEndpointAvailableError) return undefined;
      throw error;
    }
  }

  private filterFor(pattern: string, kind: PatternKind): EndpointFilter {
    const id = `${kind}\n${pattern}`;
    let filter = this.filters.get(id);
    if (filter === undefined) {
      const handles =
        kind === 'message'
          ? (endpoint: ServiceEndpoint) => endpoint.patterns?.includes(pattern) === true
          : (endpoint: ServiceEndpoint) => endpoint.events?.includes(pattern) === true;
      const also = this.where === undefined ? undefined : matcherOf(this.where);
      filter = also === undefined ? handles : (endpoint: ServiceEndpoint) => handles(endpoint) && also(endpoint);
      this.filters.set(id, filter);
    }
    return filter;
  }

  private nothingFor(services: readonly string[], pattern: unknown, kind: PatternKind): NoEndpointAvailableError {
    const name = normalisedPattern(pattern);
    const message =
      services.length === 0
        ? messages.noHandler(kind, name, this.parts.catalog.loaded)
        : messages.noHandlerInstance(kind, name, services);
    return new NoEndpointAvailableError(services[0] ?? '', message, name);
  }
}
