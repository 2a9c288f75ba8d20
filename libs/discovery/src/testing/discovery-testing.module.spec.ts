import { Logger } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { firstValueFrom, take, toArray } from 'rxjs';
import { WeightedRoundRobinStrategy } from '../balancing/weighted-round-robin.strategy.js';
import { DiscoveryClient } from '../discovery/discovery-client.js';
import { DiscoveryOptionsError, NoEndpointAvailableError } from '../errors.js';
import { ServiceRegistry } from '../registration/service-registry.js';
import { DiscoveryTestingModule, InMemoryRegistry, type DiscoveryTestingOptions } from './index.js';

async function appWith(options: DiscoveryTestingOptions) {
  const moduleRef = await Test.createTestingModule({ imports: [DiscoveryTestingModule.forRoot(options)] }).compile();
  return moduleRef.init();
}

beforeAll(() => Logger.overrideLogger(false));
afterAll(() => Logger.overrideLogger(new Logger()));

describe('DiscoveryTestingModule', () => {
  it('serves the seeded endpoints from init: getEndpoints, pick, endpoints$', async () => {
    const app = await appWith({
      endpoints: {
        'log-service': ['127.0.0.1:3002', { host: '127.0.0.1', port: 3001, id: 'first', metadata: { lane: 'blue' } }],
      },
    });
    const discovery = app.get(DiscoveryClient);
    expect(discovery.getEndpoints('log-service').map((endpoint) => endpoint.id)).toEqual(['127.0.0.1:3002', 'first']);
    expect(discovery.getEndpoints('log-service')[1]).toMatchObject({
      address: '127.0.0.1:3001',
      metadata: { lane: 'blue' },
      weight: 1,
    });
    expect([discovery.pick('log-service').id, discovery.pick('log-service').id]).toEqual(['127.0.0.1:3002', 'first']);
    expect((await firstValueFrom(discovery.endpoints$('log-service'))).length).toBe(2);
    expect(() => discovery.pick('nobody')).toThrow(NoEndpointAvailableError);
    await app.close();
  });

  it('InMemoryRegistry: add and remove reach endpoints$, changes$ and waitFor, as changes from etcd do', async () => {
    const app = await appWith({ endpoints: { 'log-service': [] } });
    const discovery = app.get(DiscoveryClient);
    const registry = app.get(InMemoryRegistry);
    const lists = firstValueFrom(discovery.endpoints$('log-service').pipe(take(3), toArray()));
    const changes = firstValueFrom(discovery.changes$('log-service').pipe(take(2), toArray()));
    const waited = discovery.waitFor('log-service', { count: 1 });
    const added = await registry.add('log-service', { host: '127.0.0.1', port: 3001, version: '2.0.0' });
    expect(added).toMatchObject({ service: 'log-service', id: '127.0.0.1:3001', version: '2.0.0' });
    expect((await waited).map((endpoint) => endpoint.id)).toEqual(['127.0.0.1:3001']);
    expect(await registry.remove('log-service', '127.0.0.1:3001')).toBe(true);
    expect(await registry.remove('log-service', '127.0.0.1:3001')).toBe(false);
    expect((await lists).map((list) => list.length)).toEqual([0, 1, 0]);
    expect((await changes).map((change) => change.type)).toEqual(['added', 'removed']);
    expect(registry.endpoints('log-service')).toEqual([]);
    await app.close();
  });

  it('uses the strategies given, per service', async () => {
    const app = await appWith({
      endpoints: {
        weighted: [
          { host: '127.0.0.1', port: 1, weight: 3 },
          { host: '127.0.0.1', port: 2, weight: 1 },
        ],
      },
      strategies: { weighted: new WeightedRoundRobinStrategy() },
    });
    const discovery = app.get(DiscoveryClient);
    const ports = Array.from({ length: 8 }, () => discovery.pick('weighted').port);
    expect(ports.filter((port) => port === 1).length).toBe(6);
    await app.close();
  });

  it('ServiceRegistry registers in memory, and discovery sees it; close deregisters', async () => {
    const app = await appWith({});
    const registry = app.get(ServiceRegistry);
    const state = await registry.register({ service: 'self', host: '127.0.0.1', port: 4000 });
    expect(state.state).toBe('registered');
    expect(registry.leaseId).toBeDefined();
    expect((await app.get(DiscoveryClient).waitFor('self')).map((endpoint) => endpoint.address)).toEqual([
      '127.0.0.1:4000',
    ]);
    const memory = app.get(InMemoryRegistry);
    await app.close();
    expect(memory.endpoints('self')).toEqual([]);
  });

  it('bad input fails at init with what to fix', async () => {
    await expect(appWith({ endpoints: { svc: ['no-port'] } })).rejects.toThrow(/"no-port" is not host:port/);
    await expect(appWith({ endpoints: { svc: '127.0.0.1:1' as never } })).rejects.toThrow(DiscoveryOptionsError);
    await expect(appWith({ ttl: 0 })).rejects.toThrow(DiscoveryOptionsError);
  });
});
