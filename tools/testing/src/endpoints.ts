import type { ServiceEndpoint } from 'nestjs-etcd-discovery';

/**
 * Endpoints for specs, tests and benchmarks. Nothing ever dials them: the hosts are made-up
 * private addresses.
 */
export function testEndpoint(service: string, id: string, port: number, extra: Partial<ServiceEndpoint> = {}): ServiceEndpoint {
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
