import { Logger } from '@nestjs/common';
import { waitFor } from '@repo/testing';
import { DiscoveryError, RegistrationWithdrawnError, RegistryClosedError } from '../errors.js';
import { resolveDiscoveryOptions } from '../options/resolve-options.js';
import { InMemoryEtcd } from '../testing/in-memory-etcd.js';
import { RegistrationReconciler } from './registration-reconciler.js';
import type { RegistrationEvent } from './registration-events.js';
import { ServiceRegistry } from './service-registry.js';

// TTL 1 s: keepalives every 333 ms, so a lost lease shows within a second.
const options = resolveDiscoveryOptions(
  { etcd: { hosts: ['in-memory:0'] }, ttl: 1, backoff: { initialDelayMs: 20, maxDelayMs: 40 } },
  {},
);
const registries: ServiceRegistry[] = [];

beforeAll(() => Logger.overrideLogger(false));
afterAll(() => Logger.overrideLogger(new Logger()));
afterEach(async () => {
  vi.restoreAllMocks();
  await Promise.all(registries.splice(0).map((registry) => registry.close()));
});

function setup(settings = options) {
  const etcd = new InMemoryEtcd();
  const registry = new ServiceRegistry(settings, new RegistrationReconciler(settings, etcd));
  registries.push(registry);
  const events: RegistrationEvent[] = [];
  let completed = false;
  registry.events$.subscribe({ next: (event) => events.push(event), complete: () => (completed = true) });
  const types = () => events.map((event) => event.type);
  return { etcd, registry, events, types, isCompleted: () => completed };
}

const worker = (port: number, id?: string) => ({ service: 'worker', host: '10.0.0.1', port, ...(id ? { id } : {}) });

describe('the registry reconcile loop (on an in-memory etcd)', () => {
  it('puts every registration under one lease, and revokes it at close: all keys go at once', async () => {
    const { etcd, registry, types, isCompleted } = setup();
    await registry.register(worker(1));
    await registry.register(worker(2));
    expect([...etcd.contents().keys()]).toEqual(['/services/worker/10.0.0.1:1', '/services/worker/10.0.0.1:2']);
    expect(etcd.leaseIds).toEqual([registry.leaseId]);

    await registry.close();
    // Each key's guard (a watch of its service's deletes) stops before the revoke, so that the revoke is not mistaken
    // for a loss.
    expect(etcd.log).toEqual([
      'grant 1',
      'put /services/worker/10.0.0.1:1',
      'put /services/worker/10.0.0.1:2',
      'cancel watch /services/worker/',
      'cancel watch /services/worker/',
      'revoke 1',
    ]);
    expect(etcd.contents().size).toBe(0);
    expect(types()).toEqual(['registered', 'registered', 'deregistered', 'deregistered']);
    expect(isCompleted()).toBe(true);
  });

  it("a lease the keepalive finds gone is replaced, every key put back stamped with the new lease's time", async () => {
    const { etcd, registry, events, types } = setup();
    await registry.register(worker(1));
    const first = registry.leaseId!;
    const stamp = () =>
      (JSON.parse([...etcd.contents().values()][0]) as { Metadata: { registeredAt: number } }).Metadata.registeredAt;
    const firstStamp = stamp();
    await new Promise((resolve) => setTimeout(resolve, 5));
    etcd.expireLease(first);
    await waitFor('re-registration', () => types().includes('re-registered'), { timeoutMs: 3000 });
    // Whichever notices first: the keepalive, or the put that follows the key's deletion.
    expect(events.find((event) => event.type === 'lease-lost')).toEqual({
      type: 'lease-lost',
      leaseId: first,
      reason: expect.stringMatching(/^etcd reports the lease (expired or revoked|is gone)$/),
    });
    expect(registry.leaseId).not.toBe(first);
    expect(etcd.leaseIds).toEqual([registry.leaseId]);
    expect([...etcd.contents().keys()]).toEqual(['/services/worker/10.0.0.1:1']);
    expect(registry.registrations().map((state) => state.state)).toEqual(['registered']);
    expect(stamp()).toBeGreaterThan(firstStamp); // the lease's age starts over
  });

  it('a key deleted from outside is put back under the same lease, with the same registeredAt', async () => {
    const { etcd, registry, types } = setup();
    const { key } = await registry.register(worker(1));
    const lease = registry.leaseId;
    const stored = etcd.contents().get(key);
    await new Promise((resolve) => setTimeout(resolve, 5));
    etcd.transaction([{ delete: key }]);
    await waitFor('the key back', () => types().includes('re-registered'));
    expect(types()).toEqual(['registered', 'key-lost', 're-registered']);
    expect(etcd.contents().get(key)).toBe(stored);
    expect(registry.leaseId).toBe(lease);
  });

  it("a key deleted between its write and its guard's creation is found (the key read) and put back", async () => {
    const { etcd, registry, types } = setup();
    const watchPrefix = etcd.watchPrefix.bind(etcd);
    const asked: string[] = [];
    // The guard watches its service's deletes from now on (one watch for every instance of it behind etcd grpc-proxy).
    vi.spyOn(etcd, 'watchPrefix').mockImplementationOnce((prefix, fromRevision, handlers, only) => {
      asked.push(`${prefix} from ${fromRevision} ${only}`);
      etcd.transaction([{ delete: '/services/worker/10.0.0.1:1' }]); // after the put, before the watch
      return watchPrefix(prefix, fromRevision, handlers, only);
    });
    await registry.register(worker(1));
    await waitFor('the key back', () => types().includes('re-registered'));
    expect(asked).toEqual(['/services/worker/ from 0 deletes']);
    expect(types()).toEqual(['registered', 'key-lost', 're-registered']);
    expect([...etcd.contents().keys()]).toEqual(['/services/worker/10.0.0.1:1']);
  });

  it("a guard hears only its own key's deletes: another instance deleted, nothing else is written", async () => {
    const { etcd, registry, types } = setup();
    await registry.register(worker(1));
    await registry.register(worker(2));
    etcd.transaction([{ delete: '/services/worker/10.0.0.1:2' }]);
    await waitFor('the other key back', () => types().includes('re-registered'));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(types()).toEqual(['registered', 'registered', 'key-lost', 're-registered']);
    expect(etcd.log.filter((line) => line.startsWith('put '))).toEqual([
      'put /services/worker/10.0.0.1:1',
      'put /services/worker/10.0.0.1:2',
      'put /services/worker/10.0.0.1:2',
    ]);
  });

  it('a put that finds the lease gone starts over at once: a new lease, no backoff', async () => {
    const { etcd, registry, types } = setup();
    await registry.register(worker(1));
    // Gone before any keepalive notices: the next put is the first to find out.
    etcd.expireLease(registry.leaseId!);
    await registry.register(worker(2));
    await waitFor('both stored', () => etcd.contents().size === 2);
    expect(types()).not.toContain('retrying');
    expect(types().filter((type) => type === 'lease-lost')).toHaveLength(1);
    expect(etcd.leaseIds).toEqual([registry.leaseId]);
  });

  it('a registration and deregistration arriving together while etcd is away apply in order once back', async () => {
    const { etcd, registry, types, events } = setup();
    await registry.register(worker(1, 'old'));
    etcd.goDown();
    const added = registry.register(worker(2, 'new'));
    const removed = registry.deregister('worker', 'old');
    await waitFor('a failed attempt', () => types().includes('retrying'));
    etcd.comeBack();
    await Promise.all([added, removed]);
    expect([...etcd.contents().keys()]).toEqual(['/services/worker/new']);
    const after = events
      .filter((event) => event.type === 'deregistered' || event.type === 'registered')
      .map((event) => `${event.type} ${'key' in event ? event.key : ''}`);
    expect(after).toEqual([
      'registered /services/worker/old',
      'deregistered /services/worker/old',
      'registered /services/worker/new',
    ]);
    expect(registry.registrations().map((state) => state.id)).toEqual(['new']);
  });

  it('close during a long backoff returns at once, rejects what was pending, and leaves no timer', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(1); // every backoff takes its full ceiling
    const slow = resolveDiscoveryOptions(
      { etcd: { hosts: ['in-memory:0'] }, ttl: 1, backoff: { initialDelayMs: 60_000, maxDelayMs: 60_000 } },
      {},
    );
    const setTimer = vi.spyOn(globalThis, 'setTimeout');
    const clearTimer = vi.spyOn(globalThis, 'clearTimeout');
    const { etcd, registry, events, isCompleted } = setup(slow);
    etcd.goDown();
    const pending = registry.register(worker(1));
    await waitFor('a failed attempt', () => events.some((event) => event.type === 'retrying'));
    expect(events[0]).toMatchObject({ type: 'retrying', attempt: 1, delayMs: 60_000 });

    await registry.close(); // within the test's 5 s timeout, far under the 60 s backoff
    await expect(pending).rejects.toThrow(RegistryClosedError);
    expect(isCompleted()).toBe(true);
    const backoffTimer = setTimer.mock.results[setTimer.mock.calls.findIndex(([, ms]) => ms === 60_000)].value;
    expect(clearTimer).toHaveBeenCalledWith(backoffTimer);
    await expect(registry.register(worker(2))).rejects.toThrow('The service registry is closed');
  });

  it('a register() pending when its registration is deregistered rejects: RegistrationWithdrawnError', async () => {
    const { etcd, registry, events } = setup();
    etcd.goDown();
    const pending = registry.register(worker(1));
    await waitFor('a failed attempt', () => events.some((event) => event.type === 'retrying'));
    await registry.deregister(worker(1).service);
    const error = await pending.catch((thrown: unknown) => thrown);
    expect(error).toBeInstanceOf(RegistrationWithdrawnError);
    expect(error).toBeInstanceOf(DiscoveryError);
    expect(error).toMatchObject({
      code: 'REGISTRATION_WITHDRAWN',
      message: expect.stringMatching(/deregistered before/),
    });
  });

  it('once etcd is reachable again, registers at once instead of at the end of its backoff', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(1); // every backoff takes its full ceiling
    const slow = resolveDiscoveryOptions(
      { etcd: { hosts: ['in-memory:0'] }, ttl: 1, backoff: { initialDelayMs: 60_000, maxDelayMs: 60_000 } },
      {},
    );
    const { etcd, registry, events } = setup(slow);
    etcd.goDown();
    const pending = registry.register(worker(1));
    await waitFor('a failed attempt', () => events.some((event) => event.type === 'retrying'));
    expect(events[0]).toMatchObject({ type: 'retrying', delayMs: 60_000 });
    etcd.comeBack(); // tells the gateway's onConnected listeners, as a ready connection does
    await pending; // within the test's 5 s timeout, far under the 60 s backoff
    expect([...etcd.contents().keys()]).toEqual(['/services/worker/10.0.0.1:1']);
  });

  it("fail-fast start-up: backoff capped at 250 ms until the lease is granted, then the options' again", async () => {
    vi.spyOn(Math, 'random').mockReturnValue(1); // every backoff takes its full ceiling
    const slow = resolveDiscoveryOptions(
      { etcd: { hosts: ['in-memory:0'] }, ttl: 1, backoff: { initialDelayMs: 60_000, maxDelayMs: 60_000 } },
      {},
    );
    const etcd = new InMemoryEtcd();
    const reconciler = new RegistrationReconciler(slow, etcd);
    const delays: number[] = [];
    reconciler.events$.subscribe((event) => event.type === 'retrying' && delays.push(event.delayMs));
    etcd.goDown();
    const granted = reconciler.grantLease();
    await waitFor('three failed attempts', () => delays.length >= 3);
    etcd.comeBack();
    await granted;
    expect(delays.slice(0, 3)).toEqual([250, 250, 250]);
    etcd.goDown();
    const pending = reconciler.add({ service: 'worker', host: '10.0.0.1', port: 1 } as never);
    await waitFor('a failed attempt after start-up', () => delays.length > 3 && delays.at(-1) === 60_000);
    etcd.comeBack();
    await pending;
    await reconciler.close();
  });

  it('spaces keepalive attempts in a round while etcd refuses them at once: an outage costs no busy loop', async () => {
    const { etcd, registry, types } = setup();
    await registry.register(worker(1));
    const keepAlive = vi.spyOn(etcd, 'keepAlive');
    etcd.goDown();
    // TTL 1 s: within it, rounds every 333 ms, each retrying until its end; then the lease is lost.
    await waitFor('the lease to be given up', () => types().includes('lease-lost'), { timeoutMs: 3000 });
    const duringLease = keepAlive.mock.calls.length;
    // At most one attempt per 100 ms over the ~1.3 s the lease was kept alive (retried at once, thousands).
    expect(duringLease).toBeGreaterThan(3);
    expect(duringLease).toBeLessThanOrEqual(16);
    etcd.comeBack();
  });

  it('refuses a second registration of the same instance, and checks what it is given', async () => {
    const { registry } = setup();
    await registry.register(worker(1));
    await expect(registry.register(worker(1))).rejects.toThrow(
      'Service instance /services/worker/10.0.0.1:1 is already registered by this process',
    );
    await expect(registry.register({ service: 'worker', host: '10.0.0.1', port: 0 })).rejects.toThrow(
      'Invalid `port` 0 for service "worker"',
    );
    await expect(registry.register({ service: 'a/b', host: 'h', port: 1 })).rejects.toThrow(
      'Invalid service name "a/b" in ServiceRegistry.register()',
    );
  });
});
