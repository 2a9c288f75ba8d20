import { Logger } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { firstValueFrom, take, toArray } from 'rxjs';
import type { LoadBalancingStrategy } from '../balancing/load-balancing-strategy.js';
import { NoEndpointAvailableError } from '../errors.js';
import { ServicePicks } from './service-picks.js';
import type { ServiceEndpoint } from '../service-endpoint.interface.js';
import { ServiceRegistry } from '../registration/service-registry.js';
import { DiscoveryTestingModule, InMemoryRegistry, type DiscoveryTestingOptions } from '../testing/index.js';
import { DiscoveryClient } from '../discovery/discovery-client.js';

beforeAll(() => Logger.overrideLogger(false));
afterAll(() => Logger.overrideLogger(new Logger()));

const fleet = {
  svc: [
    { host: '127.0.0.1', port: 1, zone: 'eu-1', version: '1.0.0' },
    { host: '127.0.0.1', port: 2, zone: 'eu-1', version: '2.0.0', metadata: { lane: 'canary' } },
    { host: '127.0.0.1', port: 3, zone: 'us-1', version: '2.0.0' },
  ],
};

async function appWith(options: DiscoveryTestingOptions) {
  const app = await (
    await Test.createTestingModule({ imports: [DiscoveryTestingModule.forRoot(options)] }).compile()
  ).init();
  return { app, discovery: app.get(DiscoveryClient), memory: app.get(InMemoryRegistry) };
}

const ports = (picks: () => number, count = 8) => new Set(Array.from({ length: count }, picks));

describe('zones', () => {
  it("prefer this app's zone, spread over every zone while it has none to pick, and come back", async () => {
    const { app, discovery, memory } = await appWith({ endpoints: fleet, zone: 'eu-1' });
    expect(ports(() => discovery.pick('svc').port)).toEqual(new Set([1, 2]));
    await memory.add('svc', { ...fleet.svc[0], status: 'down' });
    await memory.add('svc', { ...fleet.svc[1], status: 'down' });
    expect(ports(() => discovery.pick('svc').port)).toEqual(new Set([3]));
    await memory.add('svc', fleet.svc[0]);
    expect(ports(() => discovery.pick('svc').port)).toEqual(new Set([1]));
    await app.close();
  });

  it('zonePreference: false spreads over every zone; without zone nothing is preferred', async () => {
    const off = await appWith({ endpoints: fleet, zone: 'eu-1', zonePreference: false });
    expect(ports(() => off.discovery.pick('svc').port)).toEqual(new Set([1, 2, 3]));
    await off.app.close();
    const none = await appWith({ endpoints: fleet });
    expect(ports(() => none.discovery.pick('svc').port)).toEqual(new Set([1, 2, 3]));
    await none.app.close();
  });

  it('computes each zone view once per list: picks with and without where do not undo each other', async () => {
    const seen: (readonly ServiceEndpoint[])[] = [];
    const strategy: LoadBalancingStrategy = { pick: (list) => (seen.push(list), list[0]) };
    const { app, discovery } = await appWith({ endpoints: fleet, zone: 'eu-1', strategy });
    const v2 = { version: '2.0.0' };
    for (let round = 0; round < 3; round += 1) {
      discovery.pick('svc');
      discovery.pick('svc', { where: v2 });
    }
    const plain = seen.filter((_, index) => index % 2 === 0);
    const within = seen.filter((_, index) => index % 2 === 1);
    expect(plain.map((list) => list.map((endpoint) => endpoint.port))).toEqual([
      [1, 2],
      [1, 2],
      [1, 2],
    ]);
    expect(within[0].map((endpoint) => endpoint.port)).toEqual([2]);
    expect(new Set(plain).size).toBe(1); // the same array every time
    expect(new Set(within).size).toBe(1);
    await app.close();
  });

  it("is the default zone of this app's registrations", async () => {
    const { app, discovery } = await appWith({ zone: 'eu-2' });
    await app.get(ServiceRegistry).register({ service: 'self', host: '127.0.0.1', port: 9 });
    expect((await discovery.waitFor('self'))[0].zone).toBe('eu-2');
    await app.close();
  });
});

describe('subsets: where', () => {
  it("pick, a retry's pick, call and endpoints$ keep to the subset; a string 2nd arg stays the hash key", async () => {
    const { app, discovery, memory } = await appWith({ endpoints: fleet });
    const v2 = { version: '2.0.0' };
    expect(ports(() => discovery.pick('svc', { where: v2 }).port)).toEqual(new Set([2, 3]));
    expect(ports(() => discovery.pick('svc', { where: { metadata: { lane: 'canary' } } }).port)).toEqual(new Set([2]));
    expect(ports(() => discovery.pick('svc', { where: (endpoint) => endpoint.port > 2 }).port)).toEqual(new Set([3]));
    expect(discovery.pick('svc', 'user-1').service).toBe('svc');
    expect(
      app
        .get(ServicePicks)
        .pickAnother('svc', new Set(['127.0.0.1:2@127.0.0.1:2', '127.0.0.1:3@127.0.0.1:3']), undefined, v2),
    ).toBeUndefined();
    expect(await discovery.call('svc', async (endpoint) => endpoint.version, { where: v2 })).toBe('2.0.0');

    const lists = firstValueFrom(discovery.endpoints$('svc', { where: v2 }).pipe(take(2), toArray()));
    await memory.add('svc', { host: '127.0.0.1', port: 4, version: '1.0.0' }); // outside the subset: no new list
    await memory.add('svc', { host: '127.0.0.1', port: 5, version: '2.0.0' });
    expect((await lists).map((list) => list.map((endpoint) => endpoint.port))).toEqual([
      [2, 3],
      [2, 3, 5],
    ]);
    await app.close();
  });

  it('an empty subset throws NoEndpointAvailableError that names it', async () => {
    const { app, discovery } = await appWith({ endpoints: fleet });
    const pick = () => discovery.pick('svc', { where: { version: '9.9.9' } });
    expect(pick).toThrow(NoEndpointAvailableError);
    expect(pick).toThrow(
      'No endpoint available for service "svc" with {"version":"9.9.9"}: none of its 3 listed endpoint(s) matches',
    );
    await app.close();
  });
});
