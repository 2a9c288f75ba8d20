import type { Etcd3 } from 'etcd3';
import { ServiceRegistry, type RegistrationEvent } from 'nestjs-etcd-discovery';
import type { INestApplication } from '@nestjs/common';
import { appModule, EtcdServer, hexLeaseId, leaseIds, NestApps, readKeys, waitFor } from '@repo/testing';

// Each test gets its own etcd, since several of them stop, restart or wipe it.
const ttl = 2;
let etcd: EtcdServer;
let client: Etcd3;
const apps = new NestApps();

beforeEach(async () => {
  etcd = await EtcdServer.start();
  client = etcd.client();
});
afterEach(async () => {
  await apps.closeAll();
  await etcd.destroy();
});

async function registeredApp(): Promise<{
  app: INestApplication;
  key: string;
  lease: string;
  events: RegistrationEvent[];
}> {
  const app = await apps.start(
    appModule({ etcd: { hosts: [etcd.host] }, ttl, backoff: { initialDelayMs: 100, maxDelayMs: 1000 } }, [
      ['resilient'],
    ]),
  );
  const events: RegistrationEvent[] = [];
  const registry = app.get(ServiceRegistry);
  registry.events$.subscribe((event) => events.push(event));
  // The registry's own state: once it says registered, its 'registered' event has been emitted too.
  await waitFor('the registration', () => registry.registrations()[0]?.state === 'registered');
  const [key, stored] = [...(await readKeys(client, '/services/'))][0];
  return { app, key, lease: stored.lease, events };
}

/** Waits until `key` is stored again under a live lease, and checks that it is the only lease in etcd. */
async function expectRegisteredAgain(key: string, { timeoutMs }: { timeoutMs: number }): Promise<string> {
  const lease = await waitFor(
    `${key} to be registered again`,
    async () => (await readKeys(client, '/services/')).get(key)?.lease,
    {
      timeoutMs,
    },
  );
  expect(await leaseIds(client)).toEqual([lease]);
  return lease;
}

describe('the registration comes back', () => {
  it('when its lease is revoked from outside (etcdctl lease revoke)', async () => {
    const { key, lease, events } = await registeredApp();
    await etcd.etcdctl('lease', 'revoke', hexLeaseId(lease));
    const newLease = await expectRegisteredAgain(key, { timeoutMs: 5000 });
    expect(newLease).not.toBe(lease);
    expect(events.map((event) => event.type)).toContain('re-registered');
  });

  it('when its key is deleted from outside, under the same lease', async () => {
    const { key, lease, events } = await registeredApp();
    const before = events.length;
    await etcd.etcdctl('del', key);
    expect(await expectRegisteredAgain(key, { timeoutMs: 5000 })).toBe(lease);
    await waitFor('the re-registered event', () => events.some((event) => event.type === 're-registered'));
    expect(events.slice(before).map((event) => event.type)).toEqual(['key-lost', 're-registered']);
  });

  it('when etcd is down for longer than the TTL and comes back', async () => {
    const { app, key, events } = await registeredApp();
    await etcd.stop();
    await waitFor('the lease to be given up', () => events.some((event) => event.type === 'lease-lost'), {
      timeoutMs: (ttl + 2) * 1000,
    });
    expect(app.get(ServiceRegistry).registrations()[0].state).toBe('pending');
    await etcd.restart();
    // etcd's client trips a circuit breaker after repeated failures and answers from it for up to 5 s.
    await expectRegisteredAgain(key, { timeoutMs: 15_000 });
    await waitFor(
      'the registry to report it',
      () => app.get(ServiceRegistry).registrations()[0].state === 'registered',
    );
  });

  it('when etcd restarts with its data wiped (revisions start over)', async () => {
    const { key, lease, events } = await registeredApp();
    await etcd.restart({ wipe: true });
    // A new lease id proves the registration was written anew: the wiped etcd knows no old lease.
    const newLease = await expectRegisteredAgain(key, { timeoutMs: 15_000 });
    expect(newLease).not.toBe(lease);
    expect(events.map((event) => event.type)).toContain('lease-lost');
  });
});
