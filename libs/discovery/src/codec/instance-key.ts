import type { ServiceEndpoint } from '../service-endpoint.interface.js';

/** One instance, whatever object describes it: `id@address` (two keys may share an id, or an address). */
export function instanceKey(endpoint: ServiceEndpoint): string {
  return `${endpoint.id}@${endpoint.address}`;
}
