import type { ServiceEndpoint } from '../service-endpoint.interface.js';

/**
 * The order of every endpoint list: by id, then by address. Two keys may describe the same id and
 * address (Go services sometimes do): the rest of the endpoint then decides, so that the order never
 * depends on the order of events, and every process orders the same endpoints the same way.
 */
export function compareEndpoints(a: ServiceEndpoint, b: ServiceEndpoint): number {
  return a.id < b.id
    ? -1
    : a.id > b.id
      ? 1
      : a.address < b.address
        ? -1
        : a.address > b.address
          ? 1
          : a === b
            ? 0
            : compareRest(a, b);
}

function compareRest(a: ServiceEndpoint, b: ServiceEndpoint): number {
  const left = [a.weight, a.version ?? '', a.zone ?? '', JSON.stringify(a.metadata)];
  const right = [b.weight, b.version ?? '', b.zone ?? '', JSON.stringify(b.metadata)];
  for (let index = 0; index < left.length; index += 1) {
    if (left[index] < right[index]) return -1;
    if (left[index] > right[index]) return 1;
  }
  return 0;
}

/** Above this many changes, one merge pass is cheaper than a binary search and a move per change. */
const MERGE_ABOVE = 32;

/**
 * `list` (sorted) without `removed` and with `added`, as a new sorted array; `list` is never
 * changed, since subscribers may hold it. The cost is one copy plus, per change, a binary search
 * and a move — or, for many changes, one merge: never a sort of the whole list.
 */
export function withChanges(
  list: readonly ServiceEndpoint[],
  removed: readonly ServiceEndpoint[],
  added: readonly ServiceEndpoint[],
): ServiceEndpoint[] {
  if (removed.length + added.length > MERGE_ABOVE) return merge(list, removed, added);
  const next = list.slice();
  for (const endpoint of removed) {
    const index = indexOf(next, endpoint);
    if (index >= 0) next.splice(index, 1);
  }
  for (const endpoint of added) next.splice(lowerBound(next, endpoint), 0, endpoint);
  return next;
}

/** The first index whose endpoint does not sort before `endpoint`. */
function lowerBound(list: readonly ServiceEndpoint[], endpoint: ServiceEndpoint): number {
  let low = 0;
  let high = list.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (compareEndpoints(list[middle], endpoint) < 0) low = middle + 1;
    else high = middle;
  }
  return low;
}

/** Where `endpoint` itself is (two keys may hold the same id and address: identity decides). */
function indexOf(list: readonly ServiceEndpoint[], endpoint: ServiceEndpoint): number {
  for (
    let index = lowerBound(list, endpoint);
    index < list.length && compareEndpoints(list[index], endpoint) === 0;
    index += 1
  ) {
    if (list[index] === endpoint) return index;
  }
  return -1;
}

function merge(
  list: readonly ServiceEndpoint[],
  removed: readonly ServiceEndpoint[],
  added: readonly ServiceEndpoint[],
): ServiceEndpoint[] {
  const gone = new Set(removed);
  const incoming = [...added].sort(compareEndpoints);
  const next: ServiceEndpoint[] = [];
  let from = 0;
  for (const endpoint of list) {
    if (gone.has(endpoint)) continue;
    while (from < incoming.length && compareEndpoints(incoming[from], endpoint) < 0) next.push(incoming[from++]);
    next.push(endpoint);
  }
  while (from < incoming.length) next.push(incoming[from++]);
  return next;
}

/** Two decodings of the same key that differ in nothing a caller can see. */
export function sameEndpoint(a: ServiceEndpoint, b: ServiceEndpoint): boolean {
  if (a.id !== b.id || a.address !== b.address || a.weight !== b.weight || a.version !== b.version || a.zone !== b.zone)
    return false;
  if (a.status !== b.status || a.registeredAt !== b.registeredAt) return false;
  if (!sameStrings(a.patterns, b.patterns) || !sameStrings(a.events, b.events)) return false;
  const names = Object.keys(a.metadata);
  return (
    names.length === Object.keys(b.metadata).length && names.every((name) => a.metadata[name] === b.metadata[name])
  );
}

/** Two lists of the same strings in the same order (or both absent). */
export function sameStrings(a: readonly string[] | undefined, b: readonly string[] | undefined): boolean {
  if (a === b) return true;
  if (a === undefined || b === undefined || a.length !== b.length) return false;
  for (let index = 0; index < a.length; index += 1) if (a[index] !== b[index]) return false;
  return true;
}
