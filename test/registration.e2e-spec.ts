import type { Etcd3 } from 'etcd3';
import { connect } from 'node:net';
import { ServiceRegistry, type RegistrationEvent } from 'nestjs-etcd-discovery';
import {
  appModule,
  AppProcess,
  EtcdServer,
  httpPort,
  leaseIds,
  namespaces,
  NestApps,
  readKeys,
  waitFor,
} from '@repo/testing';

let etcd: EtcdServer;
let client: Etcd3;
const apps = new NestApps();
/** A fresh namespace per test, so that tests sharing this etcd never see each other's keys. */
const freshNamespace = namespaces('registration');

beforeAll(async () => {
  etcd = await EtcdServer.start();
  client = etcd.client();
});
afterEach(() => apps.closeAll());
afterAll(async () => {
  await etcd.destroy();
});

describe('registration on a real etcd', () => {
  it('puts two services of one app under one lease, with the documented keys and values', async () => {
    const namespace = freshNamespace();
    const startedAt = Date.now();
    const app = await apps.start(
      appModule({ etcd: { hosts: [etcd.host] }, namespace }, [
        ['log-service', { metadata: { region: 'eu' }, version: '1.2.0', zone: 'z1', weight: 2 }],
        ['audit-service'],
      ]),
    );
    const port = httpPort(app);
    const keys = await waitFor('both keys', async () => {
      const found = await readKeys(client, `${namespace}/`);
      return found.size === 2 ? found : undefined;
    });
    const id = `127.0.0.1:${port}`;
    const log = keys.get(`${namespace}/log-service/${id}`)!;
    const audit = keys.get(`${namespace}/audit-service/${id}`)!;
    // registeredAt: when the key was written under this lease (the dashboard's lease age).
    const registeredAt = expect.toSatisfy((at: number) => at >= startedAt && at <= Date.now());
    expect(JSON.parse(log.value)).toEqual({
      Addr: id,
      Metadata: {
        service: 'log-service',
        id,
        weight: 2,
        version: '1.2.0',
        zone: 'z1',
        registeredAt,
        metadata: { region: 'eu' },
      },
    });
    expect(JSON.parse(audit.value)).toEqual({
      Addr: id,
      Metadata: { service: 'audit-service', id, weight: 1, registeredAt, metadata: {} },
    });
    const registry = app.get(ServiceRegistry);
    expect(log.lease).not.toBe('0');
    expect(audit.lease).toBe(log.lease);
    expect(registry.leaseId).toBe(log.lease);
    expect(await leaseIds(client)).toEqual([log.lease]);
    expect(
      registry
        .registrations()
        .map(({ service, state }) => [service, state])
        .sort(),
    ).toEqual([
      ['audit-service', 'registered'],
      ['log-service', 'registered'],
    ]);
  });

  it('registers the port listen(0) got, and the stored Addr accepts connections the moment the key appears', async () => {
    const namespace = freshNamespace();
    const watcher = await client.watch().prefix(`${namespace}/`).create();
    const firstPut = new Promise<{ addr: string; connected: boolean }>((resolve) => {
      watcher.once('put', (kv) => {
        const addr = (JSON.parse(kv.value.toString()) as { Addr: string }).Addr;
        const [host, port] = addr.split(':');
        const socket = connect(Number(port), host);
        socket.once('connect', () => {
          socket.destroy();
          resolve({ addr, connected: true });
        });
        socket.once('error', () => resolve({ addr, connected: false }));
      });
    });
    const app = await apps.start(appModule({ etcd: { hosts: [etcd.host] }, namespace }, [['web']]), 0);
    const { addr, connected } = await firstPut;
    await watcher.cancel();
    expect(addr).toBe(`127.0.0.1:${httpPort(app)}`);
    expect(connected).toBe(true);
  });

  it('registers and deregisters by hand through ServiceRegistry, reporting each step on events$', async () => {
    const namespace = freshNamespace();
    const app = await apps.start(appModule({ etcd: { hosts: [etcd.host] }, namespace }));
    const registry = app.get(ServiceRegistry);
    const events: RegistrationEvent['type'][] = [];
    registry.events$.subscribe((event) => events.push(event.type));

    const state = await registry.register({
      service: 'manual',
      host: '127.0.0.1',
      port: 4000,
      id: 'm1',
      metadata: { a: 'b' },
    });
    expect(state).toMatchObject({ service: 'manual', id: 'm1', key: `${namespace}/manual/m1`, state: 'registered' });
    expect([...(await readKeys(client, `${namespace}/`)).keys()]).toEqual([`${namespace}/manual/m1`]);

    await expect(registry.register({ service: 'manual', host: '127.0.0.1', port: 4001, id: 'm1' })).rejects.toThrow(
      /already registered by this process/,
    );
    await expect(registry.register({ service: 'manual', host: '127.0.0.1', port: 0 })).rejects.toThrow(
      /Invalid `port` 0 for service "manual"/,
    );
    await expect(registry.register({ service: 'a/b', host: '127.0.0.1', port: 1 })).rejects.toThrow(
      /Invalid service name "a\/b"/,
    );

    await registry.deregister('manual');
    expect((await readKeys(client, `${namespace}/`)).size).toBe(0);
    expect(registry.registrations()).toEqual([]);
    expect(events).toEqual(['registered', 'deregistered']);
  });

  it('leaves no handle open after app.close(): the process exits by itself, its keys gone', async () => {
    const namespace = freshNamespace();
    const app = AppProcess.start(
      'discoverable-app',
      { transport: 'http', services: [{ name: 'short-lived' }], discovery: { namespace }, closeAfterRegisteredMs: 100 },
      { ETCD_HOSTS: etcd.host },
    );
    try {
      await app.waitForMessage('closed');
      // Nothing calls process.exit: the process can only end if the etcd client, the keepalive
      // timer and the key watches were all released.
      expect(await app.exited()).toEqual({ code: 0, signal: null });
      expect((await readKeys(client, `${namespace}/`)).size).toBe(0);
    } finally {
      await app.stop();
    }
  });
});
