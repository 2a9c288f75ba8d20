import type { EndpointStatus } from '../service-endpoint.interface.js';
import type { ServiceWatch } from '../watch/service-watch.js';
import type { DiscoveryMetrics } from './discovery-metrics.js';

const STATUSES: readonly EndpointStatus[] = ['up', 'draining', 'down'];

/**
 * The gauges of the services this app watches, read when the SDK collects: `discovery.endpoints` by
 * service and `discovery.endpoint.status`, and `discovery.self_preservation.held`. A collection
 * counts each list once (every 60 s by default), nothing is counted per change.
 */
export function reportWatchGauges(metrics: DiscoveryMetrics, watches: () => Iterable<ServiceWatch>): void {
  if (!metrics.enabled) return;
  metrics.gauge('discovery.endpoints', 'Endpoints of each watched service, by status', '{endpoint}', (observe) => {
    for (const watch of watches()) {
      const counts = new Map<string, number>(STATUSES.map((status) => [status, 0]));
      for (const endpoint of watch.current)
        counts.set(endpoint.status ?? 'up', (counts.get(endpoint.status ?? 'up') ?? 0) + 1);
      for (const [status, count] of counts)
        observe(count, { 'discovery.service': watch.service, 'discovery.endpoint.status': status });
    }
  });
  metrics.gauge(
    'discovery.self_preservation.held',
    'Endpoints whose removal self-preservation holds now',
    '{endpoint}',
    (observe) => {
      for (const watch of watches()) observe(watch.held.count, { 'discovery.service': watch.service });
    },
  );
}
