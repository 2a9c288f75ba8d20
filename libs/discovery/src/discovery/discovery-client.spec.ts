import { Logger, type INestApplicationContext } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { waitFor } from '@repo/testing';
import { firstValueFrom, take, toArray } from 'rxjs';
import { DiscoveryClosedError, NoEndpointAvailableError } from '../errors.js';
import { DiscoveryTestingModule, InMemoryRegistry, type DiscoveryTestingOptions } from '../testing/index.js';
import { DiscoveryClient } from './discovery-client.js';

/** The facade on an in-memory etcd: each verb does what the README's member table says. */
const apps: INestApplicationContext[] = [];
beforeAll(() => Logger.overrideLogger(false));
afterAll(() => Logger.overrideLogger(new Logger()));
afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close()));
});

async function discoveryWith(options: DiscoveryTestingOptions = {}) {
  const app = await (
    await Test.createTestingModule({ imports: [DiscoveryTestingModule.forRoot(options)] }).compile()
  ).init();
  apps.push(app);
  return { app, discovery: app.get(DiscoveryClient), registry: app.get(InMemoryRegistry) };
}

const refused = () => Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });

describe('DiscoveryClient', () => {
  it('endpoints$ gives the list, then each change; changes$ says what changed; getEndpoints agrees', async () => {
    const { discovery, registry } = await discoveryWith({ endpoints: { svc: ['127.0.0.1:1'] } });
    const lists = firstValueFrom(discovery.endpoints$('svc').pipe(take(2), toArray()));
    const changes = firstValueFrom(discovery.changes$('svc').pipe(take(1)));
    await registry.add('svc', '127.0.0.1:2');
    expect((await lists).map((list) => list.map((endpoint) => endpoint.port))).toEqual([[1], [1, 2]]);
    expect(await changes).toMatchObject({ type: 'added', endpoint: { port: 2 } });
    expect(discovery.getEndpoints('svc').map((endpoint) => endpoint.port)).toEqual([1, 2]);
  });

  it('getEndpoints of a service not watched yet returns [] and watches it from then on', async () => {
    const { discovery, registry } = await discoveryWith();
    await registry.add('later', '127.0.0.1:5');
    expect(discovery.getEndpoints('later')).toEqual([]);
    expect((await discovery.waitFor('later')).map((endpoint) => endpoint.port)).toEqual([5]);
    expect(discovery.getEndpoints('later')).toHaveLength(1);
  });

  it('pick right after waitFor finds the list waitFor saw (the service stays watched)', async () => {
    const { discovery, registry } = await discoveryWith();
    await registry.add('awaited', '127.0.0.1:6');
    await discovery.waitFor('awaited');
    expect(discovery.pick('awaited').port).toBe(6);
  });

  it('pick takes a hash key or { key, where }, and names the service when there is nothing to pick', async () => {
    const { discovery } = await discoveryWith({
      endpoints: {
        svc: [
          { host: '127.0.0.1', port: 1, version: '1' },
          { host: '127.0.0.1', port: 2, version: '2' },
        ],
      },
    });
    expect(new Set([discovery.pick('svc').port, discovery.pick('svc').port])).toEqual(new Set([1, 2]));
    expect(discovery.pick('svc', 'a key').service).toBe('svc');
    expect(discovery.pick('svc', { where: { version: '2' } }).port).toBe(2);
    expect(() => discovery.pick('nobody')).toThrow(NoEndpointAvailableError);
    expect(() => discovery.pick('nobody')).toThrow(/nobody/);
  });

  it('call moves on from an unreachable endpoint; callCounts shows both attempts, read-only', async () => {
    const { discovery } = await discoveryWith({
      endpoints: { svc: ['127.0.0.1:1', '127.0.0.1:2'] },
      outlierEjection: false,
    });
    const answers: number[] = [];
    for (let call = 0; call < 2; call += 1) {
      answers.push(
        await discovery.call('svc', (endpoint) =>
          endpoint.port === 1 ? Promise.reject(refused()) : Promise.resolve(endpoint.port),
        ),
      );
    }
    expect(answers).toEqual([2, 2]);
    const counts = discovery.callCounts.snapshot();
    expect(
      counts.map(({ instance, calls, unreachable, inFlight }) => ({ instance, calls, unreachable, inFlight })),
    ).toEqual([
      { instance: '127.0.0.1:1@127.0.0.1:1', calls: 1, unreachable: 1, inFlight: 0 },
      { instance: '127.0.0.1:2@127.0.0.1:2', calls: 2, unreachable: 0, inFlight: 0 },
    ]);
    expect(Object.keys(discovery.callCounts)).not.toContain('started');
  });

  it('reportFailure of your own calls ejects an endpoint as call() would; reportSuccess resets its count', async () => {
    const { discovery } = await discoveryWith({ endpoints: { svc: ['127.0.0.1:1', '127.0.0.1:2'] } });
    const first = discovery.getEndpoints('svc')[0];
    discovery.reportFailure(first);
    discovery.reportFailure(first);
    discovery.reportSuccess(first); // answered: the two failures are forgotten
    discovery.reportFailure(first);
    discovery.reportFailure(first);
    expect(new Set(Array.from({ length: 4 }, () => discovery.pick('svc').port))).toEqual(new Set([1, 2]));
    discovery.reportFailure(first); // the third in a row
    expect(new Set(Array.from({ length: 4 }, () => discovery.pick('svc').port))).toEqual(new Set([2]));
  });

  it('services$ and catalog$ follow the namespace; whoHandles answers from the catalog', async () => {
    const { discovery, registry } = await discoveryWith({
      endpoints: { svc: [{ host: '127.0.0.1', port: 1, patterns: ['sum'] }] },
    });
    await discovery.watchCatalog();
    expect(discovery.whoHandles('sum')).toEqual(['svc']);
    const names: (readonly string[])[] = [];
    const subscription = discovery.services$().subscribe((list) => names.push(list));
    await waitFor('the first names', () => names.length === 1);
    await registry.add('other', '127.0.0.1:2');
    await waitFor('the new names', () => names.length === 2);
    subscription.unsubscribe();
    expect(names).toEqual([['svc'], ['other', 'svc']]);
    expect((await firstValueFrom(discovery.catalog$())).services.map((service) => service.service)).toEqual([
      'other',
      'svc',
    ]);
  });

  it('after close: observables complete, waitFor/first reads throw DiscoveryClosedError, lists read stay', async () => {
    const { app, discovery } = await discoveryWith({ endpoints: { svc: ['127.0.0.1:1'] } });
    let completed = false;
    discovery.endpoints$('svc').subscribe({ complete: () => (completed = true) });
    await app.close();
    apps.length = 0;
    expect(completed).toBe(true);
    await expect(discovery.waitFor('svc')).rejects.toThrow(DiscoveryClosedError);
    expect(() => discovery.getEndpoints('never-read')).toThrow(DiscoveryClosedError);
    expect(discovery.getEndpoints('svc')).toHaveLength(1);
  });
});
