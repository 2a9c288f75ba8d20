import { metrics } from '@opentelemetry/api';
import { MeterProvider, MetricReader, type MetricData } from '@opentelemetry/sdk-metrics';
import { Test } from '@nestjs/testing';
import { DiscoveryClient } from '../discovery/discovery-client.js';
import { DiscoveryTestingModule, InMemoryRegistry } from '../testing/index.js';

class TestReader extends MetricReader {
  protected async onShutdown(): Promise<void> {}
  protected async onForceFlush(): Promise<void> {}
}

/** Every point of `name`, as `attribute values joined by spaces → value`. */
function points(all: readonly MetricData[], name: string): Record<string, number> {
  const metric = all.find((candidate) => candidate.descriptor.name === name);
  if (metric === undefined) return {};
  return Object.fromEntries(
    metric.dataPoints.map((point) => [Object.values(point.attributes).join(' '), point.value as number]),
  );
}

describe('discovery metrics through @opentelemetry/api', () => {
  it('gauges endpoints by status, ejected and held; counts ejections, holds, rejected policies', async () => {
    const reader = new TestReader();
    metrics.setGlobalMeterProvider(new MeterProvider({ readers: [reader] }));
    const endpoints = {
      svc: ['127.0.0.1:1', '127.0.0.1:2', { host: '127.0.0.1', port: 3, status: 'draining' as const }],
      lonely: ['127.0.0.1:9'],
    };
    const app = await (
      await Test.createTestingModule({
        imports: [
          DiscoveryTestingModule.forRoot({ endpoints, selfPreservation: { confirmMs: 60_000, maxHoldMs: 120_000 } }),
        ],
      }).compile()
    ).init();
    const discovery = app.get(DiscoveryClient);
    try {
      const [first] = discovery.getEndpoints('svc');
      discovery.getEndpoints('lonely');
      for (let failure = 0; failure < 3; failure += 1) discovery.reportFailure(first);
      // The only endpoint of a service disappears: self-preservation holds it.
      await app.get(InMemoryRegistry).remove('lonely', '127.0.0.1:9');
      // A traffic policy nobody can apply, written twice: rejected once per document read.
      await app.get(InMemoryRegistry).setPolicy('svc', '{"split": 1}');
      await app.get(InMemoryRegistry).setPolicy('svc', '{"calls": {"retries": -1}}');

      const collect = async () =>
        (await reader.collect()).resourceMetrics.scopeMetrics.flatMap((scope) => scope.metrics);
      const all = await collect();
      expect(points(all, 'discovery.endpoints')).toEqual({
        'svc up': 2,
        'svc draining': 1,
        'svc down': 0,
        'lonely up': 1, // held: still listed
        'lonely draining': 0,
        'lonely down': 0,
      });
      expect(points(all, 'discovery.endpoints.ejected')).toEqual({ svc: 1 }); // of the services this app picks from
      expect(points(all, 'discovery.ejections')).toEqual({ svc: 1 });
      expect(points(all, 'discovery.self_preservation.held')).toEqual({ svc: 0, lonely: 1 });
      expect(points(all, 'discovery.self_preservation.holds')).toEqual({ lonely: 1 });
      expect(points(all, 'discovery.policy.rejections')).toEqual({ svc: 2 });
      expect(all.find((metric) => metric.descriptor.name === 'discovery.endpoints')!.descriptor.unit).toBe(
        '{endpoint}',
      );
    } finally {
      await app.close();
      metrics.disable();
    }
  });
});
