import type { ServiceEndpoint } from '../service-endpoint.interface.js';

/** Endpoints for strategy specs: ids `a`, `b` … with the given weights (default 1). */
export function endpoints(ids: string[], weights: Record<string, number> = {}, service = 'svc'): ServiceEndpoint[] {
  return ids.map((id, index) => ({
    service,
    id,
    host: '10.0.0.1',
    port: 1000 + index,
    address: `10.0.0.1:${1000 + index}`,
    metadata: {},
    weight: weights[id] ?? 1,
  }));
}

/** A "random" source that walks a grid evenly: n calls cover [0, 1) in n equal steps. */
export function evenGrid(n: number): () => number {
  let index = 0;
  return () => (index++ % n + 0.5) / n;
}
