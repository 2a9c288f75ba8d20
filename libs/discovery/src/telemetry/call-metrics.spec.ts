import { metrics } from '@opentelemetry/api';
import {
  DataPointType,
  MeterProvider,
  MetricReader,
  type HistogramMetricData,
  type SumMetricData,
} from '@opentelemetry/sdk-metrics';
import { Test } from '@nestjs/testing';
import { DiscoveryClient } from '../discovery/discovery-client.js';
import { firstValueFrom, NEVER, of, throwError, type Observable } from 'rxjs';
import type { ServiceEndpoint } from '../service-endpoint.interface.js';
import { DiscoveryTestingModule } from '../testing/index.js';
import { ClientProxyParts } from '../transport/client-proxy-parts.js';
import { DiscoveryClientProxy } from '../transport/discovery-client-proxy.js';

/** Collects on demand: the test reads every point itself. */
class TestReader extends MetricReader {
  protected async onShutdown(): Promise<void> {}
  protected async onForceFlush(): Promise<void> {}
}

const refused = () =>
  new TypeError('fetch failed', { cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }) });
const never = () => new Promise<string>(() => undefined);

describe('call metrics through @opentelemetry/api', () => {
  it('records discovery.call.duration per call and discovery.call.attempts per attempt, by outcome, kind', async () => {
    const reader = new TestReader();
    // Before the app is made, as an app starts its SDK before Nest.
    metrics.setGlobalMeterProvider(new MeterProvider({ readers: [reader] }));
    const endpoints = {
      svc: ['127.0.0.1:1', '127.0.0.1:2'],
      hedged: ['127.0.0.1:3', '127.0.0.1:4'],
      tight: ['127.0.0.1:5', '127.0.0.1:6'],
    };
    const calls = {
      services: { hedged: { hedge: { afterMs: 10 } }, tight: { budget: { percent: 0, minPerSecond: 0 } } },
    };
    const app = await (
      await Test.createTestingModule({
        imports: [DiscoveryTestingModule.forRoot({ endpoints, calls, outlierEjection: false })],
      }).compile()
    ).init();
    const discovery = app.get(DiscoveryClient);
    try {
      for (let call = 0; call < 3; call += 1) await discovery.call('svc', async () => 'ok');
      await expect(discovery.call('svc', async () => Promise.reject(new Error('the handler said no')))).rejects.toThrow(
        'the handler said no',
      );
      let attempt = 0;
      await discovery.call('svc', async () => (attempt++ === 0 ? Promise.reject(refused()) : 'second'));
      await expect(discovery.call('nowhere', async () => 'never')).rejects.toThrow(
        /No endpoint available for service "nowhere"/,
      );
      await expect(discovery.call('svc', never, { attemptTimeoutMs: 20 })).rejects.toThrow(
        /got no answer within attemptTimeoutMs \(20 ms\)/,
      );
      let hedgedAttempt = 0;
      await discovery.call('hedged', () => (hedgedAttempt++ === 0 ? never() : Promise.resolve('hedge')), {
        idempotent: true,
      });
      await expect(discovery.call('tight', async () => Promise.reject(refused()))).rejects.toThrow('fetch failed');

      const { resourceMetrics } = await reader.collect();
      const all = resourceMetrics.scopeMetrics
        .filter((scope) => scope.scope.name === 'nestjs-etcd-discovery')
        .flatMap((scope) => scope.metrics);
      const duration = all.find(
        (metric) => metric.descriptor.name === 'discovery.call.duration',
      ) as HistogramMetricData;
      const attempts = all.find((metric) => metric.descriptor.name === 'discovery.call.attempts') as SumMetricData;
      expect(duration.descriptor.unit).toBe('s');
      expect(duration.dataPointType).toBe(DataPointType.HISTOGRAM);
      const calls = Object.fromEntries(
        duration.dataPoints.map((point) => [
          `${String(point.attributes['discovery.service'])} ${String(point.attributes['discovery.outcome'])}`,
          point.value.count,
        ]),
      );
      expect(calls).toEqual({
        'svc ok': 4,
        'svc error': 1,
        'nowhere no_endpoint': 1,
        'svc timeout': 1,
        'hedged ok': 1,
        'tight budget_exhausted': 1,
      });
      const counted = Object.fromEntries(
        attempts.dataPoints.map((point) => [
          `${String(point.attributes['discovery.service'])} ${String(point.attributes['discovery.attempt.kind'])} ` +
            `${String(point.attributes['discovery.outcome'])}`,
          point.value,
        ]),
      );
      expect(counted).toEqual({
        'svc first ok': 3,
        'svc first error': 1,
        'svc first unreachable': 1,
        'svc retry ok': 1,
        'svc first timeout': 1,
        // The first attempt, silent past the hedge's delay, counts as a timeout; the hedge answered.
        'hedged first timeout': 1,
        'hedged hedge ok': 1,
        'tight first unreachable': 1,
      });
      // A call's duration is in seconds: the timed-out one waited its 20 ms.
      const timedOut = duration.dataPoints.find((point) => point.attributes['discovery.outcome'] === 'timeout')!;
      expect(timedOut.value.sum).toBeGreaterThanOrEqual(0.019);
      expect(timedOut.value.sum).toBeLessThan(1);
      // Buckets made for seconds (OpenTelemetry's HTTP advice), not the SDK's default ones for milliseconds.
      expect(timedOut.value.buckets.boundaries).toEqual([
        0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10,
      ]);
    } finally {
      await app.close();
      metrics.disable();
    }
  });

  it('records DiscoveryClientsModule sends the same way: one point per send, one count per attempt', async () => {
    const reader = new TestReader();
    metrics.setGlobalMeterProvider(new MeterProvider({ readers: [reader] }));
    const endpoints = {
      tcp: [
        { id: 'x', host: '10.9.0.1', port: 1 },
        { id: 'y', host: '10.9.0.1', port: 2 },
      ],
      silent: ['10.9.0.1:3'],
      failing: ['10.9.0.1:4'],
    };
    const app = await (
      await Test.createTestingModule({
        imports: [DiscoveryTestingModule.forRoot({ endpoints, outlierEjection: false })],
      }).compile()
    ).init();
    const behaviours: Record<string, () => Observable<any>> = {
      x: () => throwError(() => Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })),
      y: () => of('from y'),
      '10.9.0.1:3': () => NEVER,
      '10.9.0.1:4': () => throwError(() => ({ status: 'error', message: 'the handler failed' })),
    };
    const proxyOf = (service: string) =>
      new DiscoveryClientProxy(
        { service, retries: 2, timeoutMs: 20 },
        app.get(ClientProxyParts),
        (endpoint: ServiceEndpoint) => ({
          send: () => behaviours[endpoint.id](),
          emit: () => of<any>(undefined),
          close: () => undefined,
        }),
      );
    try {
      const tcp = proxyOf('tcp');
      expect(await firstValueFrom(tcp.send('ping', {}))).toBe('from y'); // x refused, y answered
      expect(await firstValueFrom(tcp.send('ping', {}))).toBe('from y');
      await expect(firstValueFrom(proxyOf('silent').send('ping', {}))).rejects.toThrow(
        /got no reply within timeoutMs \(20 ms\)/,
      );
      await expect(firstValueFrom(proxyOf('failing').send('ping', {}))).rejects.toMatchObject({
        message: 'the handler failed',
      });

      const all = (await reader.collect()).resourceMetrics.scopeMetrics.flatMap((scope) => scope.metrics);
      const duration = all.find(
        (metric) => metric.descriptor.name === 'discovery.call.duration',
      ) as HistogramMetricData;
      const attempts = all.find((metric) => metric.descriptor.name === 'discovery.call.attempts') as SumMetricData;
      expect(
        Object.fromEntries(
          duration.dataPoints.map((point) => [
            `${String(point.attributes['discovery.service'])} ${String(point.attributes['discovery.outcome'])}`,
            point.value.count,
          ]),
        ),
      ).toEqual({
        'tcp ok': 2,
        'silent timeout': 1,
        'failing error': 1,
      });
      expect(
        Object.fromEntries(
          attempts.dataPoints.map((point) => [
            `${String(point.attributes['discovery.service'])} ${String(point.attributes['discovery.attempt.kind'])} ` +
              `${String(point.attributes['discovery.outcome'])}`,
            point.value,
          ]),
        ),
      ).toEqual({
        'tcp first unreachable': 1,
        'tcp retry ok': 1,
        'tcp first ok': 1,
        'silent first timeout': 1,
        'failing first error': 1,
      });
    } finally {
      await app.close();
      metrics.disable();
    }
  });

  it('metrics.perInstance adds server.address to attempts and ejections; without it, by service only', async () => {
    const reader = new TestReader();
    metrics.setGlobalMeterProvider(new MeterProvider({ readers: [reader] }));
    const endpoints = { svc: ['127.0.0.1:1', '127.0.0.1:2'] };
    const app = await (
      await Test.createTestingModule({
        imports: [
          DiscoveryTestingModule.forRoot({
            endpoints,
            metrics: { perInstance: true },
            outlierEjection: { consecutiveFailures: 1 },
          }),
        ],
      }).compile()
    ).init();
    const discovery = app.get(DiscoveryClient);
    try {
      // Round robin: one of the two calls starts on :2, refused (and ejected), and is retried on :1.
      const refusedOn2 = async ({ address }: ServiceEndpoint) =>
        address.endsWith(':2') ? Promise.reject(refused()) : 'ok';
      for (let call = 0; call < 2; call += 1) await discovery.call('svc', refusedOn2);
      const all = (await reader.collect()).resourceMetrics.scopeMetrics.flatMap((scope) => scope.metrics);
      const attempts = all.find((metric) => metric.descriptor.name === 'discovery.call.attempts') as SumMetricData;
      const ejections = all.find((metric) => metric.descriptor.name === 'discovery.ejections') as SumMetricData;
      const keyed = (metric: SumMetricData) =>
        Object.fromEntries(metric.dataPoints.map((point) => [Object.values(point.attributes).join(' '), point.value]));
      expect(keyed(attempts)).toEqual({
        'svc ok first 127.0.0.1:1': 1,
        'svc unreachable first 127.0.0.1:2': 1,
        'svc ok retry 127.0.0.1:1': 1,
      });
      expect(keyed(ejections)).toEqual({ 'svc 127.0.0.1:2': 1 });
      // The duration of a call stays by service and outcome: one series however many instances.
      const duration = all.find(
        (metric) => metric.descriptor.name === 'discovery.call.duration',
      ) as HistogramMetricData;
      expect(duration.dataPoints.map((point) => point.attributes)).toEqual([
        { 'discovery.service': 'svc', 'discovery.outcome': 'ok' },
      ]);
    } finally {
      await app.close();
      metrics.disable();
    }
  });
});
