import { formatAddress } from '../codec/host-port.js';
import type { ServiceEndpoint } from '../service-endpoint.interface.js';
import type { ServiceRegistration } from './service-registration.interface.js';

/**
 * The endpoint a checked registration describes, with its defaults: id `host:port`, weight 1, no metadata, no patterns.
 */
export function toEndpoint(registration: ServiceRegistration): ServiceEndpoint {
  const { service, host, port, metadata = {}, weight = 1, version, zone, patterns = [], events = [] } = registration;
  return {
    service,
    id: registration.id ?? formatAddress(host, port),
    host,
    port,
    address: formatAddress(host, port),
    metadata: { ...metadata },
    weight,
    ...(version === undefined ? {} : { version }),
    ...(zone === undefined ? {} : { zone }),
    ...(patterns.length === 0 ? {} : { patterns: sortedOnce(patterns) }),
    ...(events.length === 0 ? {} : { events: sortedOnce(events) }),
  };
}

/** Sorted, once each: the order discovery reads them in, so that equal sets compare equal. */
function sortedOnce(strings: readonly string[]): string[] {
  return [...new Set(strings)].sort();
}
