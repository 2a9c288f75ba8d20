import type { Etcd3 } from 'etcd3';
import { acceptsConnections, type AppProcess, AppProcesses, EtcdServer, namespaces, waitFor } from '@repo/testing';

// Apps run as real processes here: what matters is what happens when a process dies or is told to stop.
let etcd: EtcdServer;
let client: Etcd3;
const apps = new AppProcesses(() => ({ ETCD_HOSTS: etcd.host }));
const freshNamespace = namespaces('lifecycle');
const startApp = (config: object) => apps.start('discoverable-app', config);

async function registeredKey(app: AppProcess): Promise<{ key: string; address: string }> {
  const message = await app.waitForMessage('registration', 15_000, (event) => event.type === 'registered');
  return { key: message.key as string, address: (message.endpoint as { address: string }).address };
}

async function keyExists(key: string): Promise<boolean> {
  return (await client.get(key).string()) !== null;
}

beforeAll(async () => {
  etcd = await EtcdServer.start();
  client = etcd.client();
});
afterEach(() => apps.stopAll());
afterAll(async () => {
  await etcd.destroy();
});

describe('an app process and its registration', () => {
  it('is gone from etcd within TTL + 1 s of kill -9', async () => {
    const ttl = 2;
    const app = startApp({
      transport: 'http',
      services: [{ name: 'crashing' }],
      discovery: { namespace: freshNamespace(), ttl },
    });
    const { key } = await registeredKey(app);
    expect(await keyExists(key)).toBe(true);
    app.kill('SIGKILL');
    await app.exited();
    // The bound is the requirement: the lease, not the dead process, removes the key.
    await waitFor(`${key} to expire`, async () => !(await keyExists(key)), {
      timeoutMs: (ttl + 1) * 1000,
      intervalMs: 25,
    });
  });

  it.each(['http', 'tcp', 'hybrid'] as const)(
    '(%s) on SIGTERM turns draining within 1 s while its server still accepts connections, then is removed, then closes',
    async (transport) => {
      const drainMs = 1500;
      const app = startApp({
        transport,
        services: [{ name: `graceful-${transport}` }],
        discovery: { namespace: freshNamespace(), drainMs },
      });
      const { key, address } = await registeredKey(app);
      expect(await acceptsConnections(address)).toBe(true);
      app.kill('SIGTERM');
      const stoppedAt = Date.now();
      // Still listed, as draining: callers stop picking it, and those that still hold the address get through.
      await waitFor(
        `${key} to be draining`,
        async () => (await client.get(key).string())?.includes('"status":"draining"'),
        { timeoutMs: 1000, intervalMs: 10 },
      );
      expect(await acceptsConnections(address)).toBe(true);
      await waitFor(`${key} to be removed`, async () => !(await keyExists(key)), {
        timeoutMs: drainMs + 1000,
        intervalMs: 10,
      });
      expect(Date.now() - stoppedAt).toBeGreaterThanOrEqual(drainMs - 100);
      expect(await app.exited()).toEqual({ code: null, signal: 'SIGTERM' });
      expect(await acceptsConnections(address)).toBe(false);
    },
  );

  it('registers a TCP microservice at the port of its transport', async () => {
    const app = startApp({
      transport: 'tcp',
      services: [{ name: 'tcp-only' }],
      discovery: { namespace: freshNamespace() },
    });
    const listening = await app.waitForMessage('listening');
    const { address } = await registeredKey(app);
    expect(address).toBe(`127.0.0.1:${listening.port as number}`);
  });

  it('registers a hybrid app at the port of its microservice transport, not its HTTP port', async () => {
    const app = startApp({
      transport: 'hybrid',
      services: [{ name: 'hybrid' }],
      discovery: { namespace: freshNamespace() },
    });
    const listening = await app.waitForMessage('listening');
    const { address } = await registeredKey(app);
    expect(address).not.toBe(`127.0.0.1:${listening.port as number}`);
    expect(await acceptsConnections(address)).toBe(true);
  });

  it('advertises an explicit host and port as given', async () => {
    const app = startApp({
      transport: 'http',
      services: [{ name: 'explicit', options: { host: 'svc.internal', port: 8443, id: 'blue-1' } }],
      discovery: { namespace: freshNamespace() },
    });
    const { key, address } = await registeredKey(app);
    expect(key).toMatch(/\/explicit\/blue-1$/);
    expect(address).toBe('svc.internal:8443');
  });
});
