import { Logger } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { firstValueFrom, toArray } from 'rxjs';
import { DiscoveryClient } from '../discovery/discovery-client.js';
import { ServicePicks } from '../picking/service-picks.js';
import { DiscoveryOptionsError } from '../errors.js';
import { DiscoveryTestingModule, InMemoryRegistry } from '../testing/index.js';
import { ServiceRegistry } from './service-registry.js';

beforeAll(() => Logger.overrideLogger(false));
afterAll(() => Logger.overrideLogger(new Logger()));

async function app(options: { drainMs?: number } = {}) {
  return (await Test.createTestingModule({ imports: [DiscoveryTestingModule.forRoot(options)] }).compile()).init();
}

describe('endpoint status', () => {
  it("setStatus('down') keeps key, lease and listing, takes the endpoint out of picks; 'up' puts it back", async () => {
    const context = await app();
    const registry = context.get(ServiceRegistry);
    const discovery = context.get(DiscoveryClient);
    const memory = context.get(InMemoryRegistry);
    discovery.getEndpoints('svc'); // watched from now on, as a required service is
    const events = firstValueFrom(registry.events$.pipe(toArray()));
    const a = await registry.register({ service: 'svc', host: '127.0.0.1', port: 1 });
    await registry.register({ service: 'svc', host: '127.0.0.1', port: 2 });
    await discovery.waitFor('svc', { count: 2 });
    const leaseId = registry.leaseId;

    await registry.setStatus('down', 'svc');
    await discovery.waitFor('svc', { count: 2 }); // still listed
    expect(memory.endpoints('svc').map((endpoint) => endpoint.status)).toEqual(['down', 'down']);
    expect(registry.leaseId).toBe(leaseId);
    expect(registry.registrations().map((registration) => registration.state)).toEqual(['registered', 'registered']);
    await new Promise((resolve) => setImmediate(resolve));
    expect(() => discovery.pick('svc')).toThrow(/none may be picked \(weight 0, or not 'up'\)/);

    await registry.setStatus('up');
    await new Promise((resolve) => setImmediate(resolve));
    expect(discovery.pick('svc').port).toBeGreaterThan(0);
    expect(memory.endpoints('svc')[0]).not.toHaveProperty('status'); // 'up' is stored as no status at all
    await context.close();
    const types = (await events).map((event) => `${event.type}${event.type === 'status' ? ` ${event.status}` : ''}`);
    expect(types).toEqual([
      'registered',
      'registered',
      'status down',
      'status down',
      'status up',
      'status up',
      'status draining',
      'status draining',
      'deregistered',
      'deregistered',
    ]);
    expect(a.key).toBe('/services/svc/127.0.0.1:1');
  });

  it('an instance that is draining or down is never picked, also not as a retry', async () => {
    const context = await app();
    const memory = context.get(InMemoryRegistry);
    const discovery = context.get(DiscoveryClient);
    discovery.getEndpoints('svc'); // watched from now on, as a required service is
    await memory.add('svc', '127.0.0.1:1');
    await memory.add('svc', { host: '127.0.0.1', port: 2, status: 'draining' });
    await memory.add('svc', { host: '127.0.0.1', port: 3, status: 'down' });
    expect((await discovery.waitFor('svc', { count: 3 })).map((endpoint) => endpoint.status ?? 'up')).toEqual([
      'up',
      'draining',
      'down',
    ]);
    expect(new Set(Array.from({ length: 6 }, () => discovery.pick('svc').port))).toEqual(new Set([1]));
    expect(
      context.get(ServicePicks).pickAnother('svc', new Set(['127.0.0.1:1@127.0.0.1:1']), undefined, undefined),
    ).toBeUndefined();
    const refused = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    const tried: number[] = [];
    await expect(
      discovery.call('svc', (endpoint) => (tried.push(endpoint.port), Promise.reject(refused))),
    ).rejects.toBe(refused);
    expect(tried).toEqual([1]);
    await context.close();
  });

  it('rejects an unknown status with what to use', async () => {
    const context = await app();
    expect(() => context.get(ServiceRegistry).setStatus('sleeping' as never)).toThrow(DiscoveryOptionsError);
    await context.close();
  });

  it('at shutdown with drainMs: draining first (still listed, not picked), then the lease is revoked', async () => {
    const context = await app({ drainMs: 300 });
    const registry = context.get(ServiceRegistry);
    const memory = context.get(InMemoryRegistry);
    await registry.register({ service: 'svc', host: '127.0.0.1', port: 1 });
    const closing = context.close();
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(memory.endpoints('svc').map((endpoint) => endpoint.status)).toEqual(['draining']);
    await closing;
    expect(memory.endpoints('svc')).toEqual([]);
  });
});
