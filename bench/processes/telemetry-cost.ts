/**
 * The telemetry bench's process: pick() and call() timed with OpenTelemetry as an app may have it —
 * `absent` (the API cannot be loaded, as when it is not installed), `api` (installed, no SDK: its
 * no-op meter and tracer), `lastMinute` (no SDK; the counts read, as the dashboard does, so each
 * instance's last minute is kept), `metrics` (the metrics SDK), `traces` (the metrics and tracing SDKs) —
 * each in a fresh process, so that one mode's JIT and globals never colour another's.
 */
import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import Module from 'node:module';
import { reportEvent } from '@repo/testing/json-lines';

const { mode, endpoints, picks, calls } = JSON.parse(process.env.APP_CONFIG!) as {
  mode: 'absent' | 'api' | 'lastMinute' | 'metrics' | 'traces';
  endpoints: number;
  picks: number;
  calls: number;
};

if (mode === 'absent') {
  // The library loads the optional API with require(): make it fail as it does where it is not installed.
  const resolver = Module as unknown as { _resolveFilename: (request: string, ...rest: unknown[]) => string };
  const resolve = resolver._resolveFilename;
  resolver._resolveFilename = function (request: string, ...rest: unknown[]) {
    if (request === '@opentelemetry/api')
      throw Object.assign(new Error(`Cannot find module '${request}'`), { code: 'MODULE_NOT_FOUND' });
    return resolve.call(this, request, ...rest);
  };
} else if (mode === 'metrics' || mode === 'traces') {
  // Set up before the app is made, as an app does; collected only on demand: the SDK records, nothing exports.
  const { metrics, trace } = await import('@opentelemetry/api');
  const { MeterProvider, MetricReader } = await import('@opentelemetry/sdk-metrics');
  class CollectOnDemand extends MetricReader {
    protected async onShutdown(): Promise<void> {}
    protected async onForceFlush(): Promise<void> {}
  }
  metrics.setGlobalMeterProvider(new MeterProvider({ readers: [new CollectOnDemand()] }));
  if (mode === 'traces') {
    const { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } =
      await import('@opentelemetry/sdk-trace-base');
    const spans = new InMemorySpanExporter();
    trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] }));
    setInterval(() => spans.reset(), 100).unref(); // finished spans are kept in memory: drop them as they come
  }
}

const { DiscoveryClient } = await import('nestjs-etcd-discovery');
const { DiscoveryTestingModule } = await import('nestjs-etcd-discovery/testing');
const list = Array.from({ length: endpoints }, (_, index) => `10.0.${index >> 8}.${index & 255}:${1024 + index}`);
const app = await NestFactory.createApplicationContext(DiscoveryTestingModule.forRoot({ endpoints: { svc: list } }), {
  logger: false,
});
const discovery = app.get(DiscoveryClient);
if (mode === 'lastMinute') discovery.callCounts.snapshot();

/** Picks per second over `picks` picks. */
function pickRate(): number {
  const startedAt = performance.now();
  for (let pick = 0; pick < picks; pick += 1) discovery.pick('svc');
  return (picks / (performance.now() - startedAt)) * 1000;
}

/** µs per awaited `run()`, over `calls` calls. */
async function timePerCall(run: () => Promise<unknown>): Promise<number> {
  const startedAt = performance.now();
  for (let call = 0; call < calls; call += 1) await run();
  return ((performance.now() - startedAt) * 1000) / calls;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1];
const answer = Promise.resolve('ok');
const attempt = () => answer;
const viaCall = () => discovery.call('svc', attempt);
// Warmed up (the JIT settles), then WINDOWS windows of each, in turn: the median of each.
const WINDOWS = 7;
for (let warm = 0; warm < 3; warm += 1) {
  pickRate();
  await timePerCall(viaCall);
  await timePerCall(attempt);
}
const rates: number[] = [];
const called: number[] = [];
const bare: number[] = [];
for (let window = 0; window < WINDOWS; window += 1) {
  rates.push(pickRate());
  called.push(await timePerCall(viaCall));
  bare.push(await timePerCall(attempt));
}
reportEvent('measured', { pickRate: median(rates), callUs: median(called), bareUs: median(bare) });
await app.close();
