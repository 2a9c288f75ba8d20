import { Logger } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { waitFor } from '@repo/testing';
import { DiscoveryTestingModule, InMemoryRegistry } from '../testing/index.js';
import type { RegistrationEvent } from './registration-events.js';
import { ServiceRegistry } from './service-registry.js';

beforeAll(() => Logger.overrideLogger(false));
afterAll(() => Logger.overrideLogger(new Logger()));

describe('health-driven status', () => {
  it("turns 'down' after 2 failed checks (false/throw/hang), 'up' after 1 good one; each change an event", async () => {
    let answer: () => boolean | Promise<boolean> = () => true;
    const checks: number[] = [];
    const check = () => {
      checks.push(Date.now());
      return answer();
    };
    const moduleRef = await Test.createTestingModule({
      imports: [DiscoveryTestingModule.forRoot({ health: { check, intervalMs: 40 } })],
    }).compile();
    const app = await moduleRef.init();
    const registry = app.get(ServiceRegistry);
    const memory = app.get(InMemoryRegistry);
    const events: RegistrationEvent[] = [];
    registry.events$.subscribe((event) => events.push(event));
    await registry.register({ service: 'svc', host: '127.0.0.1', port: 1 });
    const statusNow = () => memory.endpoints('svc')[0]?.status ?? 'up';

    await waitFor('a few good checks', () => checks.length >= 3);
    expect(statusNow()).toBe('up');
    answer = () => false;
    await waitFor('down', () => statusNow() === 'down');
    answer = () => true;
    await waitFor('up again', () => statusNow() === 'up');
    answer = () => {
      throw new Error('broken');
    };
    await waitFor('down on throws', () => statusNow() === 'down');
    answer = () => true;
    await waitFor('up again', () => statusNow() === 'up');
    answer = () => new Promise<boolean>(() => undefined); // never answers
    await waitFor('down on hangs', () => statusNow() === 'down', { timeoutMs: 2000 });
    await app.close();
    const statuses = events
      .filter((event) => event.type === 'status')
      .map((event) => (event.type === 'status' ? event.status : ''));
    expect(statuses).toEqual(['down', 'up', 'down', 'up', 'down']);
  });

  it('a single failed check is not enough', async () => {
    let calls = 0;
    const check = () => (calls += 1) !== 2; // the second check fails, the others pass
    const moduleRef = await Test.createTestingModule({
      imports: [DiscoveryTestingModule.forRoot({ health: { check, intervalMs: 20 } })],
    }).compile();
    const app = await moduleRef.init();
    const registry = app.get(ServiceRegistry);
    await registry.register({ service: 'svc', host: '127.0.0.1', port: 1 });
    const events: RegistrationEvent[] = [];
    registry.events$.subscribe((event) => events.push(event));
    await waitFor('five checks', () => calls >= 5);
    expect(events.filter((event) => event.type === 'status')).toEqual([]);
    await app.close();
  });

  it("a registration added while the app is 'down' starts 'down', and turns 'up' with the others", async () => {
    let healthy = false;
    const moduleRef = await Test.createTestingModule({
      imports: [DiscoveryTestingModule.forRoot({ health: { check: () => healthy, intervalMs: 20 } })],
    }).compile();
    const app = await moduleRef.init();
    const registry = app.get(ServiceRegistry);
    const memory = app.get(InMemoryRegistry);
    await registry.register({ service: 'svc', host: '127.0.0.1', port: 1 });
    await waitFor('down', () => memory.endpoints('svc')[0]?.status === 'down');
    await registry.register({ service: 'late', host: '127.0.0.1', port: 2 });
    expect(memory.endpoints('late').map((endpoint) => endpoint.status)).toEqual(['down']);
    healthy = true;
    await waitFor('both up', () =>
      [...memory.endpoints('svc'), ...memory.endpoints('late')].every((endpoint) => endpoint.status === undefined),
    );
    await registry.register({ service: 'later', host: '127.0.0.1', port: 3 });
    expect(memory.endpoints('later')[0]).not.toHaveProperty('status');
    await app.close();
  });
});
