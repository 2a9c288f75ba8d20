import { type ServiceEndpoint } from 'nestjs-etcd-discovery';
import { encodeEndpoint, endpointKey } from 'nestjs-etcd-discovery/codec';

/**
 * Endpoints for specs, tests and benchmarks. Nothing ever dials them: the hosts are made-up
 * private addresses.
 */
export function testEndpoint(
  service: string,
  id: string,
  port: number,
  extra: Partial<ServiceEndpoint> = {},
): ServiceEndpoint {
  const host = extra.host ?? '10.9.0.1';
  return { service, id, metadata: {}, weight: 1, ...extra, host, port, address: `${host}:${port}` };
}

/** Endpoint number `index` of a large service: id `i00042`, each on its own host. */
export function numberedEndpoint(service: string, index: number, weight = 1): ServiceEndpoint {
  const host = `10.${(index >> 16) & 255}.${(index >> 8) & 255}.${index & 255}`;
  return testEndpoint(service, `i${String(index).padStart(5, '0')}`, 1024 + (index % 60_000), { host, weight });
}

/** Endpoints with ids `ids`, in that order, and the given weights (default 1): for strategy specs. */
export function endpointList(ids: string[], weights: Record<string, number> = {}, service = 'svc'): ServiceEndpoint[] {
  return ids.map((id, index) => testEndpoint(service, id, 1000 + index, { weight: weights[id] ?? 1 }));
}

/** Endpoint `id` of service "svc", on `extra.port` or a port derived from the id's first letter. */
export function svcEndpoint(id: string, extra: Partial<ServiceEndpoint> = {}): ServiceEndpoint {
  return testEndpoint('svc', id, extra.port ?? 1000 + id.charCodeAt(0), extra);
}

/** The in-memory etcd's put of `endpoint` where the registry keeps it (namespace /services), under `lease` if given. */
export function memoryPut(endpoint: ServiceEndpoint, lease?: string): { put: string; value: string; lease?: string } {
  return { put: endpointKey('/services', endpoint.service, endpoint.id), value: encodeEndpoint(endpoint), lease };
}
