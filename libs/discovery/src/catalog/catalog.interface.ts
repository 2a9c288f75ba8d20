import type { ServiceEndpoint } from '../service-endpoint.interface.js';
import type { EndpointChange } from '../watch/endpoint-change.interface.js';

/** Every service under the namespace, with what its instances handle: what `catalog$()` emits. */
export interface Catalog {
  /** The services that have at least one readable endpoint, sorted by name. */
  services: readonly CatalogService[];
  /** What this emission changed, service by service (empty in the first). */
  changes: readonly EndpointChange[];
}

/** One service in the catalog. */
export interface CatalogService {
  service: string;
  /** Every listed endpoint, whatever its status, sorted by id; each with the patterns it publishes. */
  endpoints: readonly ServiceEndpoint[];
  /** The message patterns at least one instance answers, sorted. */
  patterns: readonly string[];
  /** The event patterns at least one instance takes, sorted. */
  events: readonly string[];
  /**
   * False while its instances disagree on what they handle (a rolling deploy): each endpoint's own
   * `patterns` and `events` then say which does what, and calls by pattern go only to those that have it.
   */
  consistent: boolean;
}

/** Whether a pattern is sent (`send()`, `@MessagePattern`) or emitted (`emit()`, `@EventPattern`). */
export type PatternKind = 'message' | 'event';
