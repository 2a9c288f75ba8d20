import type { ServiceEndpoint } from '../service-endpoint.interface.js';

/**
 * What a strategy knows of the call it picks for. `DiscoveryClient.pick()` hands the same object to
 * every pick of a service, so that picking allocates nothing: read it during `pick()`, never keep it.
 */
export interface PickContext {
  readonly service: string;
  /** A hash key (ConsistentHashStrategy): a user id, a session id … */
  readonly key?: string;
  /**
   * Another attempt of a call whose endpoint could not be reached: the endpoints given are those not
   * tried yet. A strategy with a rotation should not count it as a turn of the service's calls.
   */
  readonly retry?: boolean;
  /**
   * Set when the service's traffic policy splits its calls by version: the endpoints given are those of one version,
   * and this names that group (`<service>@<version>`). A strategy that keeps a rotation or a schedule per service
   * keeps it per `group ?? service`, so that the versions' picks do not undo each other.
   */
  readonly group?: string;
}

/**
 * Picks one endpoint per call from the current list (sorted by id), or undefined when none may be
 * picked. Called on every `pick()`/`send()`: it must be fast and must not touch etcd. One instance
 * serves all services, so it keeps per-service state keyed by `context.service`. Lists are never
 * changed in place: a new list is a new array, and an endpoint that did not change keeps its object,
 * so a strategy may keep state per list or per endpoint and update it when the list is another.
 */
export interface LoadBalancingStrategy {
  pick(endpoints: readonly ServiceEndpoint[], context: PickContext): ServiceEndpoint | undefined;
}

/** Injection token of the app's default strategy (`DiscoveryModule.forRoot({ strategy })`). */
export const LOAD_BALANCING_STRATEGY = Symbol('LOAD_BALANCING_STRATEGY');

/**
 * Implemented by strategies that learn from the calls made (LeastOutstandingStrategy,
 * LatencyAwareStrategy): `DiscoveryClient.call()` and the `DiscoveryClientsModule` clients report
 * every call's start and end.
 */
export interface InFlightTracker {
  callStarted(endpoint: ServiceEndpoint): void;
  /** `responseMs`: how long the endpoint took to answer (an error is an answer); undefined when it did not answer. */
  callFinished(endpoint: ServiceEndpoint, responseMs?: number): void;
}

export function isInFlightTracker(strategy: unknown): strategy is InFlightTracker {
  const candidate = strategy as Partial<InFlightTracker> | undefined;
  return typeof candidate?.callStarted === 'function' && typeof candidate.callFinished === 'function';
}
