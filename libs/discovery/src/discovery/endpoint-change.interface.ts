import type { ServiceEndpoint } from '../service-endpoint.interface.js';

/** One change of a service's endpoint list, with the etcd revision that made it. */
export interface EndpointChange {
  type: 'added' | 'removed' | 'updated';
  endpoint: ServiceEndpoint;
  /** For `updated`: the endpoint as it was. */
  previous?: ServiceEndpoint;
  revision: number;
}
