import { Logger } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { firstValueFrom, type Subscription } from 'rxjs';
import { DiscoveryTestingModule, InMemoryRegistry } from '../testing/index.js';
import type { Catalog } from './catalog.interface.js';
import { DiscoveryClient } from '../discovery/discovery-client.js';

beforeAll(() => Logger.overrideLogger(false));
afterAll(() => Logger.overrideLogger(new Logger()));

async function fleet() {
  const moduleRef = await Test.createTestingModule({
    imports: [
      DiscoveryTestingModule.forRoot({
        endpoints: {
          'log-service': [
            { host: '10.9.0.1', port: 1, patterns: ['log.append', 'log.tail'], events: ['grade.recorded'] },
            { host: '10.9.0.1', port: 2, patterns: ['log.append', 'log.tail'], events: ['grade.recorded'] },
          ],
          'audit-service': [{ host: '10.9.0.1', port: 3, events: ['grade.recorded'] }],
          'go-service': ['10.9.0.1:4'],
        },
      }),
    ],
  }).compile();
  const app = await moduleRef.init();
  const discovery = app.get(DiscoveryClient);
  const emissions: Catalog[] = [];
  const subscription: Subscription = discovery.catalog$().subscribe((catalog) => emissions.push(catalog));
  await firstValueFrom(discovery.catalog$());
  return { app, discovery, registry: app.get(InMemoryRegistry), emissions, subscription };
}

describe('the catalog', () => {
  it('lists every service with its endpoints and what they handle, and answers who handles a pattern', async () => {
    const { app, discovery, emissions } = await fleet();
    expect(emissions).toHaveLength(1);
    const [first] = emissions;
    expect(first.changes).toEqual([]);
    expect(
      first.services.map(({ service, endpoints, patterns, events, consistent }) => ({
        service,
        instances: endpoints.length,
        patterns,
        events,
        consistent,
      })),
    ).toEqual([
      { service: 'audit-service', instances: 1, patterns: [], events: ['grade.recorded'], consistent: true },
      { service: 'go-service', instances: 1, patterns: [], events: [], consistent: true },
      {
        service: 'log-service',
        instances: 2,
        patterns: ['log.append', 'log.tail'],
        events: ['grade.recorded'],
        consistent: true,
      },
    ]);
    expect(discovery.whoHandles('log.append')).toEqual(['log-service']);
    expect(discovery.whoHandles('grade.recorded', 'event')).toEqual(['audit-service', 'log-service']);
    expect(discovery.whoHandles('grade.recorded')).toEqual([]); // an event, not a message pattern
    expect(discovery.whoHandles('nobody.handles.this')).toEqual([]);
    expect(() => discovery.whoHandles('log.append', 'events' as never)).toThrow(
      `Invalid pattern kind "events" in whoHandles(): 'message' (the default) or 'event'.`,
    );
    await app.close();
  });

  it('emits once per change, keeps the services it did not touch as they were, and says what changed', async () => {
    const { app, registry, emissions } = await fleet();
    const added = await registry.add('log-service', {
      host: '10.9.0.1',
      port: 5,
      patterns: ['log.append', 'log.tail'],
      events: ['grade.recorded'],
    });
    expect(emissions).toHaveLength(2);
    const [before, after] = emissions as [Catalog, Catalog];
    expect(after.changes).toEqual([{ type: 'added', endpoint: added, revision: expect.any(Number) }]);
    expect(after.services[0]).toBe(before.services[0]); // audit-service: the same object
    expect(after.services[2].endpoints.map((endpoint) => endpoint.port)).toEqual([1, 2, 5]);
    expect(after.services[2].patterns).toBe(before.services[2].patterns); // the same patterns: not made again
    await registry.remove('go-service', '10.9.0.1:4');
    expect(emissions.at(-1)!.services.map((service) => service.service)).toEqual(['audit-service', 'log-service']);
    await app.close();
  });

  it('shows a rolling change: a pattern only some instances have is inconsistent; who handles it follows', async () => {
    const { app, discovery, registry, emissions } = await fleet();
    // log-service 1 is redeployed with log.search and without log.tail
    await registry.add('log-service', {
      host: '10.9.0.1',
      port: 1,
      patterns: ['log.append', 'log.search'],
      events: ['grade.recorded'],
    });
    const logService = emissions.at(-1)!.services.find((service) => service.service === 'log-service')!;
    expect(logService.consistent).toBe(false);
    expect(logService.patterns).toEqual(['log.append', 'log.search', 'log.tail']);
    expect(logService.endpoints.map((endpoint) => endpoint.patterns)).toEqual([
      ['log.append', 'log.search'],
      ['log.append', 'log.tail'],
    ]);
    expect(discovery.whoHandles('log.search')).toEqual(['log-service']);
    // …then the second instance too: consistent again, and nobody handles log.tail
    await registry.add('log-service', {
      host: '10.9.0.1',
      port: 2,
      patterns: ['log.append', 'log.search'],
      events: ['grade.recorded'],
    });
    expect(emissions.at(-1)!.services.find((service) => service.service === 'log-service')!.consistent).toBe(true);
    expect(discovery.whoHandles('log.tail')).toEqual([]);
    await app.close();
  });

  it('looks up object patterns in any key order, as Nest normalises them', async () => {
    const { app, discovery, registry } = await fleet();
    await registry.add('math', { host: '10.9.0.1', port: 6, patterns: ['{"cmd":"sum","v":2}'] });
    expect(discovery.whoHandles({ v: 2, cmd: 'sum' })).toEqual(['math']);
    await app.close();
  });

  it('completes at shutdown, and its watch stops when the last subscriber leaves', async () => {
    const { app, discovery, subscription } = await fleet();
    let completed = false;
    discovery.catalog$().subscribe({ complete: () => (completed = true) });
    subscription.unsubscribe();
    await app.close();
    expect(completed).toBe(true);
    expect(() => discovery.whoHandles('log.append')).toThrow(/closed/);
  });
});
