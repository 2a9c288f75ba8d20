import { Module, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { metrics, propagation, trace } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { MeterProvider, MetricReader, type MetricData } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { AddressInfo } from 'node:net';
import { AppProcesses, CapturingLogger, EtcdServer, testEndpoint, waitFor } from '@repo/testing';
import { DiscoveryClient, DiscoveryModule, ServiceRegistry } from 'nestjs-etcd-discovery';
import { DiscoveryDashboardModule, type DashboardSnapshot } from 'nestjs-etcd-discovery/dashboard';
import { encodeEndpoint, endpointKey } from 'nestjs-etcd-discovery/codec';

// What a caller sees of the instances it calls, with the OpenTelemetry SDK in the app (an in-memory
// metric reader and span exporter) and the dashboard mounted: three real instances (separate
// processes) answer; one is killed with kill -9 and stays listed (its lease outlives the test), so
// calls to it are refused, retried on another instance, and it is ejected; then three endpoints of
// another service vanish from etcd at once and self-preservation holds them. Every metric point is
// compared with the known count.
class TestReader extends MetricReader {
  protected async onShutdown(): Promise<void> {}
  protected async onForceFlush(): Promise<void> {}
}

let etcd: EtcdServer;
const processes = new AppProcesses(() => ({ ETCD_HOSTS: etcd.host }));
const reader = new TestReader();
const spans = new InMemorySpanExporter();
let caller: INestApplication;
let dashboardUrl: string;

beforeAll(async () => {
  etcd = await EtcdServer.start();
  metrics.setGlobalMeterProvider(new MeterProvider({ readers: [reader] }));
  trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] }));
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
});
afterAll(async () => {
  await caller?.close();
  await processes.stopAll();
  metrics.disable();
  trace.disable();
  propagation.disable();
  await etcd.destroy();
});

async function startInstance(): Promise<{ address: string; kill(): void }> {
  // A TTL far longer than the test: the killed instance stays listed, as one whose lease has not run out yet.
  const app = processes.start('discoverable-app', {
    transport: 'http',
    services: [{ name: 'health-http' }],
    discovery: { ttl: 60 },
  });
  const registered = await app.waitForMessage('registration', 15_000, (message) => message.type === 'registered');
  return { address: (registered.endpoint as { address: string }).address, kill: () => app.kill('SIGKILL') };
}

async function collect(): Promise<readonly MetricData[]> {
  return (await reader.collect()).resourceMetrics.scopeMetrics
    .filter((scope) => scope.scope.name === 'nestjs-etcd-discovery')
    .flatMap((scope) => scope.metrics);
}

/** Each point of metric `name`, keyed by its attribute values joined by spaces; histograms by their count. */
function points(all: readonly MetricData[], name: string): Record<string, number> {
  const metric = all.find((candidate) => candidate.descriptor.name === name);
  return Object.fromEntries(
    (metric?.dataPoints ?? []).map((point) => {
      const value = point.value as number | { count: number };
      return [Object.values(point.attributes).join(' '), typeof value === 'number' ? value : value.count];
    }),
  );
}

const snapshot = async () => (await (await fetch(`${dashboardUrl}/discovery/api`)).json()) as DashboardSnapshot;
const instancesOf = (current: DashboardSnapshot, service: string) =>
  current.services.find((entry) => entry.service === service)?.instances ?? [];

describe('call health: metrics, spans and the dashboard, with real instances', () => {
  it('counts answered, refused-and-retried calls and an ejection exactly; the dashboard shows the rates, p50/p99, the ejection, a hold and its own registration', async () => {
    const instances = [await startInstance(), await startInstance(), await startInstance()];
    const held = [1, 2, 3].map((index) =>
      testEndpoint('health-held', `h${index}`, 7000 + index, { host: '127.0.0.1' }),
    );
    const lease = etcd.client().lease(60);
    for (const endpoint of held)
      await lease.put(endpointKey('/services', 'health-held', endpoint.id)).value(encodeEndpoint(endpoint));

    @Module({
      imports: [
        DiscoveryModule.forRoot({
          etcd: { hosts: [etcd.host] },
          requires: ['health-http', 'health-held'],
          metrics: { perInstance: true },
          // No hedges: a GC pause must not add an attempt to the exact counts below.
          calls: { hedge: false },
          // Long enough to look at the hold before a list confirms it.
          selfPreservation: { confirmMs: 20_000, maxHoldMs: 30_000 },
        }),
        DiscoveryDashboardModule.forRoot(),
      ],
    })
    class CallerModule {}
    caller = await NestFactory.create(CallerModule, { logger: new CapturingLogger(), abortOnError: false });
    await caller.listen(0, '127.0.0.1');
    const port = (caller.getHttpServer().address() as AddressInfo).port;
    dashboardUrl = `http://127.0.0.1:${port}`;
    await caller.get(ServiceRegistry).register({ service: 'health-caller', host: '127.0.0.1', port });
    const discovery = caller.get(DiscoveryClient);
    await discovery.waitFor('health-http', { count: 3 });

    // 30 answered calls: 10 per instance (round robin).
    const whoami = () => discovery.fetch('http://health-http/whoami').then((response) => response.text());
    for (let call = 0; call < 30; call += 1) await whoami();

    // kill -9: still listed, its port refuses. Each call that starts on it is retried on another
    // instance (a GET); after 3 such failures in a row it is ejected and no longer picked.
    const killed = instances[2];
    killed.kill();
    await waitFor('the killed instance to refuse connections', async () => {
      try {
        await fetch(`http://${killed.address}/whoami`);
        return false;
      } catch {
        return true;
      }
    });
    for (let call = 0; call < 30; call += 1) await whoami();

    const all = await collect();
    const others = instances.slice(0, 2).map((instance) => instance.address);
    expect(points(all, 'discovery.call.duration')).toEqual({ 'health-http ok': 60 });
    const attempts = points(all, 'discovery.call.attempts');
    // The 3 refused first attempts, each followed by a retry that was answered; the rest answered at once.
    expect(attempts[`health-http unreachable first ${killed.address}`]).toBe(3);
    const retried = others.reduce((sum, address) => sum + (attempts[`health-http ok retry ${address}`] ?? 0), 0);
    expect(retried).toBe(3);
    const firstAnswered = instances.reduce(
      (sum, { address }) => sum + (attempts[`health-http ok first ${address}`] ?? 0),
      0,
    );
    expect(firstAnswered).toBe(60 - 3);
    expect(attempts[`health-http ok first ${killed.address}`]).toBe(10);
    expect(Object.keys(attempts)).toHaveLength(1 + 3 + 2); // no other kind of attempt
    expect(points(all, 'discovery.ejections')).toEqual({ [`health-http ${killed.address}`]: 1 });
    expect(points(all, 'discovery.endpoints.ejected')).toMatchObject({ 'health-http': 1 });
    expect(points(all, 'discovery.registrations')).toEqual({
      'health-caller pending': 0,
      'health-caller registered': 1,
    });

    // The span of a retried call: the refused attempt, then the answer from another instance.
    const retriedSpan = spans.getFinishedSpans().find((span) => span.events.length === 2)!;
    expect(retriedSpan.name).toBe('fetch health-http');
    const [refused, answered] = retriedSpan.events.map((event) => event.attributes!);
    expect(refused).toEqual({
      'server.address': killed.address,
      'discovery.attempt.kind': 'first',
      'discovery.outcome': 'unreachable',
    });
    expect(answered).toMatchObject({ 'discovery.attempt.kind': 'retry', 'discovery.outcome': 'ok' });
    expect(others).toContain(answered['server.address']);

    // The dashboard: per instance, the last minute; the killed one ejected (10 s for a first ejection).
    let current = await snapshot();
    const byAddress = new Map(instancesOf(current, 'health-http').map((instance) => [instance.address, instance]));
    const dead = byAddress.get(killed.address)!;
    expect(dead.calls).toMatchObject({
      calls: 13,
      unreachable: 3,
      errors: 0,
      timedOut: 0,
      inFlight: 0,
      lastMinute: { calls: 13, errorRate: 3 / 13, timeoutRate: 0 },
    });
    expect(dead.ejectedUntil).toBeGreaterThan(Date.now());
    expect(dead.ejectedUntil).toBeLessThanOrEqual(Date.now() + 10_000);
    for (const address of others) {
      const alive = byAddress.get(address)!;
      expect(alive.ejectedUntil).toBeUndefined();
      expect(alive.calls!.lastMinute).toMatchObject({ errorRate: 0, timeoutRate: 0 });
      expect(alive.calls!.lastMinute.p50Ms).toBeGreaterThan(0);
      expect(alive.calls!.lastMinute.p99Ms).toBeGreaterThanOrEqual(alive.calls!.lastMinute.p50Ms!);
    }
    expect(current.registrations).toEqual([
      { service: 'health-caller', id: expect.any(String), address: `127.0.0.1:${port}`, state: 'registered' },
    ]);

    // Every endpoint of health-held vanishes at once (one revision): self-preservation holds them.
    await lease.revoke();
    await waitFor(
      'the hold',
      async () => points(await collect(), 'discovery.self_preservation.holds')['health-held'] === 1,
    );
    const duringHold = await collect();
    expect(points(duringHold, 'discovery.self_preservation.held')).toMatchObject({ 'health-held': 3 });
    expect(points(duringHold, 'discovery.self_preservation.holds')).toEqual({ 'health-held': 1 });
    current = await snapshot();
    // Gone from etcd (and the catalog), still listed by this app: the dashboard shows them, marked held.
    expect(instancesOf(current, 'health-held').map((instance) => [instance.address, instance.held])).toEqual(
      held.map((endpoint) => [endpoint.address, true]),
    );
    expect(discovery.getEndpoints('health-held')).toHaveLength(3);
  }, 90_000);
});
