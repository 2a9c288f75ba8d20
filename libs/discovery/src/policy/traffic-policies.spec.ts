import { Logger } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { WeightedRoundRobinStrategy } from '../balancing/weighted-round-robin.strategy.js';
import { CallPolicies } from '../calls/call-policies.js';
import { DiscoveryClient } from '../discovery/discovery-client.js';
import { ServicePicks } from '../picking/service-picks.js';
import { DiscoveryTestingModule, InMemoryRegistry } from '../testing/index.js';
import type { DiscoveryTestingOptions } from '../testing/index.js';
import { TrafficPolicies } from './traffic-policies.js';

const service = 'log-service';
const inAnHour = () => new Date(Date.now() + 3600_000).toISOString();
const instances = [
  { host: '127.0.0.1', port: 3001, id: 'a', version: 'v1' },
  { host: '127.0.0.1', port: 3002, id: 'b', version: 'v1' },
  { host: '127.0.0.1', port: 3003, id: 'c', version: 'v2' },
];

async function appWith(options: Partial<DiscoveryTestingOptions> = {}) {
  const moduleRef = await Test.createTestingModule({
    imports: [DiscoveryTestingModule.forRoot({ endpoints: { [service]: instances }, ...options })],
  }).compile();
  const app = await moduleRef.init();
  const discovery = app.get(DiscoveryClient);
  discovery.pick(service); // the first pick starts the app's watch of policies
  await new Promise((resolve) => setImmediate(resolve));
  const picks = (count: number) => {
    const counts: Record<string, number> = {};
    for (let pick = 0; pick < count; pick++) {
      const id = discovery.pick(service).id;
      counts[id] = (counts[id] ?? 0) + 1;
    }
    return counts;
  };
  return { app, discovery, registry: app.get(InMemoryRegistry), picks };
}

let warnings: string[];
beforeEach(() => {
  warnings = [];
  vi.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
  vi.spyOn(Logger.prototype, 'warn').mockImplementation((message: unknown) => void warnings.push(String(message)));
});
afterEach(() => vi.restoreAllMocks());

describe('traffic policies applied by the apps that call the service', () => {
  it('a drain takes the instance out of picks at once; a deleted document brings it back', async () => {
    const { app, registry, picks } = await appWith();
    await registry.setPolicy(service, { instances: { b: { drained: true, until: inAnHour(), reason: 'disk' } } });
    expect(picks(300)).toEqual({ a: 150, c: 150 });
    await registry.setPolicy(service, undefined);
    expect(picks(300)).toEqual({ a: 100, b: 100, c: 100 });
    await app.close();
  });

  it('a drain ends by itself at its until', async () => {
    const { app, registry, picks } = await appWith();
    await registry.setPolicy(service, {
      instances: { b: { drained: true, until: new Date(Date.now() + 150).toISOString() } },
    });
    expect(picks(10).b).toBeUndefined();
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(picks(30)).toEqual({ a: 10, b: 10, c: 10 });
    await app.close();
  });

  it('a new document that keeps the end still ends there; one that moves the end moves it', async () => {
    const { app, registry, picks } = await appWith();
    const drainedUntil = (until: string, reason: string) => ({ instances: { b: { drained: true, until, reason } } });
    const soon = () => new Date(Date.now() + 150).toISOString();
    const end = soon();
    await registry.setPolicy(service, drainedUntil(end, 'one'));
    await registry.setPolicy(service, drainedUntil(end, 'two'));
    expect(picks(10).b).toBeUndefined(); // applied
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(picks(30)).toEqual({ a: 10, b: 10, c: 10 });
    await registry.setPolicy(service, drainedUntil(soon(), 'three'));
    expect(picks(10).b).toBeUndefined();
    await registry.setPolicy(service, drainedUntil(inAnHour(), 'four')); // moved later: not ended then
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(picks(10).b).toBeUndefined();
    await registry.setPolicy(service, drainedUntil(soon(), 'five')); // moved sooner
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(picks(30)).toEqual({ a: 10, b: 10, c: 10 });
    await app.close();
  });

  it('splits by version over the strategy: 90/10 over 2 v1 and 1 v2, exactly', async () => {
    const { app, registry, picks } = await appWith();
    await registry.setPolicy(service, { split: { by: 'version', weights: { v1: 90, v2: 10 } } });
    expect(picks(10_000)).toEqual({ a: 4_500, b: 4_500, c: 1_000 });
    await app.close();
  });

  it('replaces registered weights while the override lasts', async () => {
    const { app, registry, picks } = await appWith({ strategy: new WeightedRoundRobinStrategy() });
    await registry.setPolicy(service, { instances: { c: { weight: 8, until: inAnHour() } } });
    expect(picks(1_000)).toEqual({ a: 100, b: 100, c: 800 });
    await app.close();
  });

  it('never drains more than its guard allows: the first by key are drained, the others keep their calls', async () => {
    const { app, registry, picks } = await appWith();
    const until = inAnHour();
    await registry.setPolicy(service, { instances: { a: { drained: true, until }, b: { drained: true, until } } });
    expect(picks(200)).toEqual({ b: 100, c: 100 });
    expect(warnings.join('\n')).toMatch(/"log-service" drains 2 of its instances up, but its guard allows 1/);
    await app.close();
  });

  it('keeps the last good policy through a bad document, warns once naming service, revision and field', async () => {
    const { app, registry, picks } = await appWith();
    const policies = app.get(TrafficPolicies);
    const rejected = vi.fn();
    policies.rejected.add(rejected);
    await registry.setPolicy(service, { instances: { b: { drained: true, until: inAnHour() } } });
    await registry.setPolicy(service, '{"instances": {"b": {"drained": "yes"}}, "split": 3}');
    await registry.setPolicy(service, '{"instances": {"b": {"drained": "yes"}}, "split": 3}'); // the same text
    expect(picks(100).b).toBeUndefined();
    expect(rejected).toHaveBeenCalledTimes(1);
    expect(warnings.filter((warning) => warning.includes('not applied'))).toEqual([
      expect.stringMatching(
        new RegExp(
          '^The traffic policy of "log-service" at revision \\d+ \\(/services.policy/log-service\\) is not applied, ' +
            'the last good one stays: instances\\["b"\\].drained must be true or false',
        ),
      ),
    ]);
    expect(policies.rejections.get(service)?.problems.map((problem) => problem.field)).toEqual([
      'instances["b"].drained',
      'instances["b"].until',
      'split',
    ]);
    await registry.setPolicy(service, {});
    expect(policies.rejections.has(service)).toBe(false);
    expect(Object.keys(picks(3)).sort()).toEqual(['a', 'b', 'c']);
    await app.close();
  });

  it("puts its calls settings over the app's own, and takes them back when they go", async () => {
    const { app, registry } = await appWith({ calls: { timeoutMs: 5000, attemptTimeoutMs: 2000, hedge: false } });
    const calls = app.get(CallPolicies).of(service);
    await registry.setPolicy(service, { calls: { timeoutMs: 800, retries: 0, hedge: true } });
    expect(calls.policy).toMatchObject({ timeoutMs: 800, attemptTimeoutMs: 800, retries: 0 });
    expect(calls.hedgeAfterMs()).toBeGreaterThan(0);
    await registry.setPolicy(service, undefined);
    expect(calls.policy).toMatchObject({ timeoutMs: 5000, attemptTimeoutMs: 2000, hedge: false });
    expect(calls.policy.retries).toBeUndefined();
    await app.close();
  });

  it('with a split, a retry or a hedge stays in the version of the attempt before it while it can', async () => {
    const { app, registry } = await appWith();
    await registry.setPolicy(service, { split: { by: 'version', weights: { v1: 50, v2: 50 } } });
    const picks = app.get(ServicePicks);
    const keyOf = (id: string) => `${id}@127.0.0.1:300${'abc'.indexOf(id) + 1}`;
    const another = (...tried: string[]) =>
      picks.pickAnother(service, new Set(tried.map(keyOf)), undefined, undefined)?.id;
    for (let round = 0; round < 5; round++) expect(another('a')).toBe('b');
    expect(another('a', 'b')).toBe('c'); // no v1 left: another version rather than no answer
    expect(['a', 'b']).toContain(another('c'));
    await app.close();
  });
});
