import type { INestApplicationContext } from '@nestjs/common';
import { firstValueFrom, filter } from 'rxjs';
import type { Etcd3 } from 'etcd3';
import {
  AppProcesses,
  EtcdCluster,
  EtcdGrpcProxy,
  EtcdServer,
  putEndpoint,
  readKeys,
  startConsumer,
  testEndpoint,
  waitFor,
  type AppProcess,
} from '@repo/testing';
import { DiscoveryClient, ServiceRegistry, type EndpointChange } from 'nestjs-etcd-discovery';

// The library through etcd's own gRPC proxy (`etcd grpc-proxy start`), tested as the direct path is:
// registration and keepalive, endpoints$, the catalog — through one proxy, two with failover between
// them, across a proxy restart, with the cluster's leader killed behind the proxy, and with etcd's
// authentication (the proxy forwards the client's token).
let cluster: EtcdCluster;
let client: Etcd3;
const proxies: EtcdGrpcProxy[] = [];
const processes = new AppProcesses();
const consumers: INestApplicationContext[] = [];

beforeAll(async () => {
  cluster = await EtcdCluster.start(3);
  client = cluster.client();
  proxies.push(await EtcdGrpcProxy.start(cluster.hosts), await EtcdGrpcProxy.start(cluster.hosts));
}, 60_000);
afterEach(async () => {
  await Promise.all(consumers.splice(0).map((app) => app.close()));
  await processes.stopAll();
});
afterAll(async () => {
  await Promise.all(proxies.map((proxy) => proxy.destroy()));
  await cluster.destroy();
});

/** An instance of `service` (a separate process, TTL 3 s unless said) that reaches etcd through `hosts`. */
async function instance(
  service: string,
  hosts: string,
  ttl = 3,
): Promise<{ app: AppProcess; address: string; lease: string }> {
  const app = processes.start(
    'discoverable-app',
    { transport: 'http', services: [{ name: service }], discovery: { ttl } },
    { ETCD_HOSTS: hosts },
  );
  const registered = await app.waitForMessage('registration', 15_000, (message) => message.type === 'registered');
  return { app, address: (registered.endpoint as { address: string }).address, lease: registered.leaseId as string };
}

/** A consumer app in this process that requires `service`, through `hosts`, and every change it sees. */
async function consumer(service: string, hosts: string[]): Promise<{ discovery: DiscoveryClient; changes: string[] }> {
  const { app, discovery } = await startConsumer({ etcd: { hosts }, requires: [service], ttl: 3 });
  consumers.push(app);
  const changes: string[] = [];
  discovery
    .changes$(service)
    .subscribe((change: EndpointChange) => changes.push(`${change.type} ${change.endpoint.address}`));
  return { discovery, changes };
}

const addresses = (discovery: DiscoveryClient, service: string) =>
  discovery
    .getEndpoints(service)
    .map((endpoint) => endpoint.address)
    .sort();
const keysOf = async (service: string) => [...(await readKeys(client, `/services/${service}/`)).values()];

describe('through etcd grpc-proxy', () => {
  it('one proxy: registration kept alive past its TTL, endpoints$ and the catalog follow instances that come and die', async () => {
    const [proxy] = proxies;
    const first = await instance('px-one', proxy.host);
    const { discovery, changes } = await consumer('px-one', [proxy.host]);
    await discovery.waitFor('px-one');
    expect(addresses(discovery, 'px-one')).toEqual([first.address]);
    const catalog = await firstValueFrom(
      discovery.catalog$().pipe(filter((current) => current.services.some((entry) => entry.service === 'px-one'))),
    );
    expect(
      catalog.services.find((entry) => entry.service === 'px-one')!.endpoints.map((endpoint) => endpoint.address),
    ).toEqual([first.address]);

    // Three TTLs: kept alive through the proxy, on the same lease.
    await new Promise((resolve) => setTimeout(resolve, 9_000));
    expect((await keysOf('px-one')).map((key) => key.lease)).toEqual([first.lease]);

    const second = await instance('px-one', proxy.host);
    await waitFor('the second instance', () => addresses(discovery, 'px-one').length === 2);
    first.app.kill('SIGKILL');
    await waitFor(
      'the killed instance to leave (its lease runs out)',
      () => addresses(discovery, 'px-one').length === 1,
      { timeoutMs: 15_000 },
    );
    expect(addresses(discovery, 'px-one')).toEqual([second.address]);
    // Each change once: nothing lost, nothing twice.
    expect(changes).toEqual([`added ${second.address}`, `removed ${first.address}`]);
  }, 60_000);

  it("apps behind one proxy share its watches on etcd: a watch of a prefix from now on, not one per app's revision or key", async () => {
    const [proxy] = proxies;
    const watchersOnEtcd = async () =>
      (await Promise.all(cluster.members.map((member) => member.metric('etcd_debugging_mvcc_watcher_total')))).reduce(
        (sum, count) => sum + count,
        0,
      );
    const before = await watchersOnEtcd();
    const apps = 10;
    for (let index = 0; index < apps; index += 1) {
      // Each watches px-shared, the traffic policies and (its registration's guard) px-shared's deletes.
      const { app, discovery } = await startConsumer({
        etcd: { hosts: [proxy.host] },
        requires: ['px-shared'],
        ttl: 3,
      });
      consumers.push(app);
      await app.get(ServiceRegistry).register({ service: 'px-shared', host: '127.0.0.1', port: 7000 + index });
      await discovery.waitFor('px-shared');
      await client.put(`/services/px-shared-writes/${index}`).value('etcd moves on between the apps'); // not watched
    }
    await waitFor('every instance seen by the last app', async () => (await keysOf('px-shared')).length === apps);
    // A watch per app's key or per revision it listed at was 10 or more: the proxy coalesces watches from now on.
    const added = (await watchersOnEtcd()) - before;
    console.log(`[measured] ${apps} apps behind one proxy: ${added} more watches on etcd`);
    expect(added).toBeLessThanOrEqual(4);
    await client.delete().prefix('/services/px-shared-writes/');
  }, 60_000);

  it('two proxies: one killed, the apps go on through the other — same lease, watches resume', async () => {
    const [a, b] = proxies;
    const hosts = `${a.host},${b.host}`;
    const registered = await instance('px-two', hosts);
    const { discovery, changes } = await consumer('px-two', [a.host, b.host]);
    await discovery.waitFor('px-two');
    await a.stop('SIGKILL');
    try {
      const later = await instance('px-two', b.host);
      await waitFor('the instance registered after the failover', () => addresses(discovery, 'px-two').length === 2, {
        timeoutMs: 15_000,
      });
      // Past two TTLs with the first proxy gone: still on its first lease.
      await new Promise((resolve) => setTimeout(resolve, 7_000));
      expect((await keysOf('px-two')).map((key) => key.lease).sort()).toEqual([registered.lease, later.lease].sort());
      expect(addresses(discovery, 'px-two')).toEqual([registered.address, later.address].sort());
      expect(changes).toEqual([`added ${later.address}`]);
    } finally {
      await a.launch();
    }
  }, 60_000);

  it('the proxy restarted: leases kept, a change made while it was down arrives once, nothing duplicated', async () => {
    const [proxy] = proxies;
    // The default TTL: a lease outlives a restart of its only way to etcd (a graceful one takes ~6.6 s here; 3 s lost it).
    const registered = await instance('px-restart', proxy.host, 10);
    const { discovery, changes } = await consumer('px-restart', [proxy.host]);
    await discovery.waitFor('px-restart');
    const stoppedAt = Date.now();
    await proxy.stop();
    const missed = testEndpoint('px-restart', 'written-while-down', 7001, { host: '127.0.0.1' });
    await putEndpoint(client, missed);
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    await proxy.launch();
    console.log(`[measured] grpc-proxy down and back serving in ${Date.now() - stoppedAt} ms`);
    await waitFor(
      'the change made while the proxy was down',
      () => addresses(discovery, 'px-restart').includes(missed.address),
      { timeoutMs: 15_000 },
    );
    await new Promise((resolve) => setTimeout(resolve, 4_000)); // the settle re-list after the reconnect, and past the TTL
    expect((await keysOf('px-restart')).map((key) => key.lease)).toContain(registered.lease);
    expect(addresses(discovery, 'px-restart')).toEqual([registered.address, missed.address].sort());
    expect(changes).toEqual([`added ${missed.address}`]);
  }, 60_000);

  it("the cluster's leader killed behind the proxy: registrations kept, changes after the election arrive", async () => {
    const [proxy] = proxies;
    const registered = await instance('px-leader', proxy.host);
    const { discovery, changes } = await consumer('px-leader', [proxy.host]);
    await discovery.waitFor('px-leader');
    const leader = await cluster.leader();
    await leader.stop('SIGKILL');
    try {
      const after = testEndpoint('px-leader', 'after-election', 7002, { host: '127.0.0.1' });
      await waitFor(
        'a write to the remaining quorum',
        async () => (
          await putEndpoint(cluster.client(cluster.members.filter((member) => member.running)), after),
          true
        ),
        { timeoutMs: 15_000 },
      );
      await waitFor('the change after the election', () => addresses(discovery, 'px-leader').includes(after.address), {
        timeoutMs: 15_000,
      });
      await new Promise((resolve) => setTimeout(resolve, 4_000));
      expect((await keysOf('px-leader')).map((key) => key.lease)).toContain(registered.lease);
      expect(changes).toEqual([`added ${after.address}`]);
    } finally {
      await leader.launch('existing');
      await leader.waitHealthy();
    }
  }, 60_000);
});

describe('through etcd grpc-proxy, right after the cluster lost its leader', () => {
  it('an app started then (fail-fast, connectTimeoutMs 5 s) starts: a request that hangs is asked again within the window', async () => {
    const [proxy] = proxies;
    const leader = await cluster.leader();
    await leader.stop('SIGKILL');
    try {
      const startedAt = Date.now();
      const { app } = await instance('px-start', proxy.host);
      console.log(
        `[measured] an app started through the proxy right after the leader was killed: registered after ${Date.now() - startedAt} ms`,
      );
      expect(app.messages.filter((message) => message.event === 'error')).toEqual([]);
    } finally {
      await leader.launch('existing');
      await leader.waitHealthy();
    }
  }, 60_000);
});

describe('through etcd grpc-proxy, with etcd authentication', () => {
  it('registers and discovers with a user whose role may only use the namespace: the proxy forwards its token', async () => {
    const etcd = await EtcdServer.start();
    const proxy = await EtcdGrpcProxy.start([etcd.host]);
    try {
      await etcd.etcdctl('user', 'add', 'root', '--new-user-password=root-S3cret-pw', '--interactive=false');
      await etcd.etcdctl('role', 'add', 'services-rw');
      await etcd.etcdctl('role', 'grant-permission', '--prefix=true', 'services-rw', 'readwrite', '/services/');
      await etcd.etcdctl('user', 'add', 'svc', '--new-user-password=svc-S3cret-pw', '--interactive=false');
      await etcd.etcdctl('user', 'grant-role', 'svc', 'services-rw');
      await etcd.etcdctl('auth', 'enable');
      const auth = { username: 'svc', password: 'svc-S3cret-pw' };
      const { app, discovery } = await startConsumer({
        etcd: { hosts: [proxy.host], auth },
        requires: ['px-auth'],
        ttl: 3,
      });
      consumers.push(app);
      const registration = await app
        .get(ServiceRegistry)
        .register({ service: 'px-auth', host: '127.0.0.1', port: 7003 });
      expect(registration.state).toBe('registered');
      await discovery.waitFor('px-auth');
      expect(addresses(discovery, 'px-auth')).toEqual(['127.0.0.1:7003']);
      // Without credentials the same proxy refuses.
      await expect(startConsumer({ etcd: { hosts: [proxy.host] }, requires: ['px-auth'] })).rejects.toThrow(
        /user name is empty|permission denied|authentication/i,
      );
    } finally {
      await Promise.all(consumers.splice(0).map((consumerApp) => consumerApp.close()));
      await proxy.destroy();
      await etcd.destroy();
    }
  }, 60_000);
});
