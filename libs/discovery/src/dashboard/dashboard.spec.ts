import { Injectable, Logger, type CanActivate, type ExecutionContext, type INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import type { AddressInfo } from 'node:net';
import { DiscoveryClient } from '../discovery/discovery-client.js';
import { DiscoveryOptionsError } from '../errors.js';
import { DiscoveryTestingModule, InMemoryRegistry } from '../testing/index.js';
import type { DashboardSnapshot } from './dashboard-snapshot.interface.js';
import { DiscoveryDashboardModule, type DiscoveryDashboardOptions } from './discovery-dashboard.module.js';

@Injectable()
class TokenGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    return context.switchToHttp().getRequest<{ headers: Record<string, string> }>().headers['x-token'] === 'let-me-in';
  }
}

let app: INestApplication | undefined;
beforeAll(() => Logger.overrideLogger(false));
afterAll(() => Logger.overrideLogger(new Logger()));
afterEach(async () => {
  await app?.close();
  app = undefined;
});

async function mounted(options: DiscoveryDashboardOptions = {}) {
  const moduleRef = await Test.createTestingModule({
    imports: [
      DiscoveryTestingModule.forRoot({
        endpoints: {
          'log-service': [
            {
              host: '10.9.0.1',
              port: 1,
              zone: 'eu-1',
              version: '1.0.0',
              patterns: ['log.append'],
              events: ['grade.recorded'],
            },
            {
              host: '10.9.0.1',
              port: 2,
              zone: 'eu-2',
              version: '1.1.0',
              patterns: ['log.append', 'log.search'],
              events: ['grade.recorded'],
            },
          ],
        },
      }),
      DiscoveryDashboardModule.forRoot(options),
    ],
  }).compile();
  app = moduleRef.createNestApplication();
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, registry: app.get(InMemoryRegistry), discovery: app.get(DiscoveryClient) };
}

/** The first `count` snapshots of the dashboard's server-sent events. */
async function events(
  url: string,
  count: number,
  init?: RequestInit,
  whileReading?: () => Promise<void>,
): Promise<DashboardSnapshot[]> {
  const response = await fetch(url, init);
  expect(response.headers.get('content-type')).toContain('text/event-stream');
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  const snapshots: DashboardSnapshot[] = [];
  let buffered = '';
  let acted = false;
  while (snapshots.length < count) {
    const { value, done } = await reader.read();
    if (done) break;
    buffered += value;
    for (let end = buffered.indexOf('\n\n'); end >= 0; end = buffered.indexOf('\n\n')) {
      const data = buffered
        .slice(0, end)
        .split('\n')
        .find((line) => line.startsWith('data: '));
      buffered = buffered.slice(end + 2);
      if (data) snapshots.push(JSON.parse(data.slice(6)) as DashboardSnapshot);
    }
    if (!acted && snapshots.length > 0 && whileReading) {
      acted = true;
      await whileReading();
    }
  }
  await reader.cancel();
  return snapshots;
}

describe('DiscoveryDashboardModule', () => {
  it('serves the page, its JSON and its events at the path, and nothing anywhere else', async () => {
    const { url } = await mounted({ path: '/ops/discovery' });
    const page = await fetch(`${url}/ops/discovery`);
    expect(page.headers.get('content-type')).toContain('text/html');
    const html = await page.text();
    expect(html).toContain('<title>Discovery');
    expect(html).not.toMatch(/<script[^>]+src=|<link[^>]+href=/); // nothing loaded from elsewhere
    const snapshot = (await (await fetch(`${url}/ops/discovery/api`)).json()) as DashboardSnapshot;
    expect(snapshot.namespace).toBe('/services');
    expect(snapshot.services).toEqual([
      {
        service: 'log-service',
        consistent: false,
        patterns: [
          { pattern: 'log.append', instances: 2 },
          { pattern: 'log.search', instances: 1 },
        ],
        events: [{ pattern: 'grade.recorded', instances: 2 }],
        // What an instance handles is its service's lists less what it lacks; never called from here: no counts.
        instances: [
          {
            id: '10.9.0.1:1',
            address: '10.9.0.1:1',
            zone: 'eu-1',
            version: '1.0.0',
            status: 'up',
            weight: 1,
            lacks: { patterns: ['log.search'], events: [] },
          },
          { id: '10.9.0.1:2', address: '10.9.0.1:2', zone: 'eu-2', version: '1.1.0', status: 'up', weight: 1 },
        ],
      },
    ]);
    expect((await fetch(`${url}/discovery`)).status).toBe(404);
  });

  it('pushes a new snapshot when an instance comes or goes, with the change in the timeline', async () => {
    const { url, registry } = await mounted();
    const [first, second] = await events(`${url}/discovery/events`, 2, undefined, async () => {
      await registry.add('log-service', { host: '10.9.0.1', port: 3, patterns: ['log.append'] });
    });
    expect(first.services[0].instances).toHaveLength(2);
    expect(second.services[0].instances.map((instance) => instance.address)).toEqual([
      '10.9.0.1:1',
      '10.9.0.1:2',
      '10.9.0.1:3',
    ]);
    expect(second.timeline).toEqual([
      { at: expect.any(Number), type: 'added', service: 'log-service', id: '10.9.0.1:3', address: '10.9.0.1:3' },
    ]);
  });

  it("shows each service's traffic policy: split, drains, weights, a rejection; pushed as it changes", async () => {
    const { url, registry } = await mounted();
    const until = new Date(Date.now() + 3600_000).toISOString();
    const [first, applied] = await events(`${url}/discovery/events`, 2, undefined, async () => {
      await registry.setPolicy('log-service', {
        split: { by: 'version', weights: { '1.0.0': 90, '1.1.0': 10 } },
        instances: { '10.9.0.1:2': { drained: true, until, reason: 'disk' }, '10.9.0.1:1': { weight: 3, until } },
      });
    });
    expect(first.services[0].policy).toBeUndefined();
    expect(applied.services[0].policy).toEqual({
      revision: expect.any(Number),
      split: { '1.0.0': 90, '1.1.0': 10 },
      drained: [{ id: '10.9.0.1:2', until, reason: 'disk' }],
      weights: { '10.9.0.1:1': 3 },
    });
    expect(applied.services[0].instances.map((instance) => instance.drained)).toEqual([undefined, true]);

    const [, rejected] = await events(`${url}/discovery/events`, 2, undefined, async () => {
      await registry.setPolicy('log-service', '{"split": {"by": "zone"}}');
    });
    // The app calls it (the service is required): the last good document stays in force, and the rejection shows.
    expect(rejected.services[0].policy).toEqual({
      ...applied.services[0].policy,
      rejected: { revision: expect.any(Number), problem: expect.stringMatching(/^split\.by /) },
    });
    expect(rejected.services[0].policy!.rejected!.revision).toBeGreaterThan(applied.services[0].policy!.revision!);
    const html = await (await fetch(`${url}/discovery`)).text();
    expect(html).toContain('function policy(p)');
  });

  it('pushes a new snapshot when this app calls an instance', async () => {
    const { url, discovery } = await mounted();
    const [first, second] = await events(`${url}/discovery/events`, 2, undefined, async () => {
      await discovery.call('log-service', async () => 'ok');
    });
    expect(first.services[0].instances.map((instance) => instance.calls)).toEqual([undefined, undefined]);
    expect(second.services[0].instances.map((instance) => instance.calls?.calls)).toEqual([1, undefined]);
  });

  it("shows this app's calls per instance: totals, the last minute as error/timeout rates and p50/p99", async () => {
    const { url, discovery } = await mounted();
    const waitMs = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
    for (let call = 0; call < 3; call += 1) await discovery.call('log-service', async () => (await waitMs(20), 'ok'));
    const refused = () => Promise.reject(Object.assign(new Error('refused'), { code: 'ECONNREFUSED' }));
    await expect(discovery.call('log-service', refused, { retries: 0 })).rejects.toThrow('refused');
    // Round robin: 1, 2, 1; the refused 4th call on 2 (retries: 0); an error answered by 1; a timeout on 2.
    await expect(
      discovery.call('log-service', async () => Promise.reject(new Error('the handler said no'))),
    ).rejects.toThrow('the handler said no');
    await expect(
      discovery.call('log-service', () => new Promise(() => undefined), { attemptTimeoutMs: 40, retries: 0 }),
    ).rejects.toThrow(/attemptTimeoutMs \(40 ms\)/);
    const snapshot = (await (await fetch(`${url}/discovery/api`)).json()) as DashboardSnapshot;
    const [first, second] = snapshot.services[0].instances.map((instance) => instance.calls!);
    expect(first).toMatchObject({
      calls: 3,
      unreachable: 0,
      errors: 1,
      timedOut: 0,
      inFlight: 0,
      lastMinute: { calls: 3, errorRate: 1 / 3, timeoutRate: 0 },
    });
    expect(second).toMatchObject({
      calls: 3,
      unreachable: 1,
      errors: 0,
      timedOut: 1,
      inFlight: 0,
      lastMinute: { calls: 3, errorRate: 1 / 3, timeoutRate: 1 / 3 },
    });
    // Response times to ±10 %: 20 ms answers; the timeout counts its 40 ms wait; the refusal has none.
    expect(second.lastMinute.p50Ms).toBeGreaterThanOrEqual(18);
    expect(second.lastMinute.p50Ms).toBeLessThan(40);
    expect(second.lastMinute.p99Ms).toBeGreaterThanOrEqual(36);
    expect(second.lastMinute.p99Ms).toBeLessThan(80);
    expect(snapshot.registrations).toEqual([]);
  });

  it('answers 403 on the page, its JSON and its events without what the guard asks for', async () => {
    const { url } = await mounted({ guard: TokenGuard });
    for (const path of ['/discovery', '/discovery/api', '/discovery/events'])
      expect((await fetch(`${url}${path}`)).status).toBe(403);
    expect((await fetch(`${url}/discovery/api`, { headers: { 'x-token': 'let-me-in' } })).status).toBe(200);
    expect(await events(`${url}/discovery/events`, 1, { headers: { 'x-token': 'let-me-in' } })).toHaveLength(1);
  });

  it.each([
    [{ path: 'a path with spaces' }, 'Invalid `path` "a path with spaces" in DiscoveryDashboardModule.forRoot()'],
    [{ guard: 'admin' as never }, 'Invalid `guard` in DiscoveryDashboardModule.forRoot(): give a guard class'],
  ])('rejects %j with a clear error', (options, message) => {
    expect(() => DiscoveryDashboardModule.forRoot(options)).toThrow(DiscoveryOptionsError);
    expect(() => DiscoveryDashboardModule.forRoot(options)).toThrow(message);
  });
});
