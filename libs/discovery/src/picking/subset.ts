import type { ServiceEndpoint } from '../service-endpoint.interface.js';

/**
 * Which endpoints a pick, a call or a list may use: all of `version`, `zone` and every `metadata`
 * entry given must match; or a predicate.
 */
export type EndpointFilter =
  { version?: string; zone?: string; metadata?: Record<string, string> } | ((endpoint: ServiceEndpoint) => boolean);

/** The predicate a filter stands for. */
export function matcherOf(where: EndpointFilter): (endpoint: ServiceEndpoint) => boolean {
  if (typeof where === 'function') return where;
  const { version, zone, metadata = {} } = where;
  const entries = Object.entries(metadata);
  return (endpoint) =>
    (version === undefined || endpoint.version === version) &&
    (zone === undefined || endpoint.zone === zone) &&
    entries.every(([name, value]) => endpoint.metadata[name] === value);
}

/** Two lists with the same endpoints, in order. */
export function sameEndpoints(a: readonly ServiceEndpoint[], b: readonly ServiceEndpoint[]): boolean {
  return a.length === b.length && a.every((endpoint, index) => endpoint === b[index]);
}

/** How a filter reads in an error message. */
export function describeFilter(where: EndpointFilter): string {
  return typeof where === 'function'
    ? `matching ${where.name || 'the given predicate'}`
    : `with ${JSON.stringify(where)}`;
}

/**
 * A filtered view of a service's lists, computed once per list: picks with the same `where`
 * object do no work until the list changes. A `where` written inline is a new object per call
 * and is filtered each time: keep it in a constant where picks are frequent.
 */
export class FilteredLists {
  private readonly views = new WeakMap<
    object,
    { source: readonly ServiceEndpoint[]; list: readonly ServiceEndpoint[] }
  >();

  of(list: readonly ServiceEndpoint[], where: EndpointFilter): readonly ServiceEndpoint[] {
    const view = this.views.get(where);
    if (view?.source === list) return view.list;
    const filtered = list.filter(matcherOf(where));
    this.views.set(where, { source: list, list: filtered });
    return filtered;
  }
}
