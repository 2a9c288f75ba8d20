import type { ServiceEndpoint } from '../service-endpoint.interface.js';

/** One change of a service's endpoint list, with the etcd revision that made it. */
export interface EndpointChange {
  type: 'added' | 'removed' | 'updated';
  endpoint: ServiceEndpoint;
  /** For `updated`: the endpoint as it was. */
  previous?: ServiceEndpoint;
  revision: number;
}

/** The change from `previous` to `endpoint` of one key (one of them at least is defined). */
export function endpointChange(
  previous: ServiceEndpoint | undefined,
  endpoint: ServiceEndpoint | undefined,
  revision: number,
): EndpointChange {
  if (endpoint !== undefined && previous !== undefined) return { type: 'updated', endpoint, previous, revision };
  return endpoint !== undefined
    ? { type: 'added', endpoint, revision }
    : { type: 'removed', endpoint: previous!, revision };
}
