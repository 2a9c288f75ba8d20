import { rm } from 'node:fs/promises';
import {
  type AppProcess,
  AppProcesses,
  EtcdCluster,
  EtcdServer,
  establishedConnections,
  makeCertificates,
  openFileDescriptors,
  startBusyService,
  waitFor,
} from '@repo/testing';

/**
 * An app holds one connection per etcd member, whatever happened before — none left behind: etcd killed and
 * restarted, members restarted in turn, a member frozen and thawed, over TLS with a user. The app
 * is a real process that uses everything at once (busy-app: registration with ttl 3, a required
 * service of 500 endpoints changing 50 times a second, endpoints$, changes$, catalog$, services$,
 * 1,000 picks a second); its connections are read from /proc after every fault.
 */
const apps = new AppProcesses();
afterEach(() => apps.stopAll());

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const portOf = (host: string) => Number(host.split(':').at(-1));

const startBusyApp = (hosts: string[]) =>
  apps.start('busy-app', { service: 'busy', watched: 'churning', discovery: { etcd: { hosts }, ttl: 3 } });

/**
 * The connections the app holds to each member once it is connected again to a running member (to the only one, if
 * there is one; in a cluster its streams stay on one member, and a member it has no call for is not dialled): `most`,
 * the most seen over `forMs` (every 100 ms), and `settled`, the most over the first `forMs` after that in which no
 * member had more than one (within 10 s; else over the last `forMs`). The connections a failure leaves behind come
 * when the member is back: watching for a while catches those that come late; they never settle. Under heavy load
 * (6 of these files at once) a second or third connection to a member other than the one restarted was seen for a
 * moment in 3 of about 60 runs (cause not found): `most` reports it, `settled` is what is asserted.
 */
async function connectionsAfterRecovery(
  app: AppProcess,
  members: readonly EtcdServer[],
  forMs = 1000,
): Promise<{ most: number[]; settled: number[] }> {
  const ports = members.map((member) => portOf(member.host));
  const running = members.filter((member) => member.running).map((member) => portOf(member.host));
  await waitFor(
    'the app to connect again to a running member',
    () => {
      const counts = establishedConnections(app.child.pid!, running);
      return running.some((port) => counts.get(port)! >= 1);
    },
    { timeoutMs: 15_000 },
  ).catch((error: Error) => {
    throw new Error(`${error.message}; the app's log: ${app.output}`);
  });
  const mostOver = async () => {
    const most = ports.map(() => 0);
    for (const until = Date.now() + forMs; Date.now() < until; await sleep(100)) {
      const counts = establishedConnections(app.child.pid!, ports);
      ports.forEach((port, index) => (most[index] = Math.max(most[index], counts.get(port)!)));
    }
    return most;
  };
  const most = await mostOver();
  let settled = most;
  for (const until = Date.now() + 10_000; settled.some((count) => count > 1) && Date.now() < until;)
    settled = await mostOver();
  return { most, settled };
}

/** Per member (`/` between them), its connections — `most→settled` when they differ. */
const described = ({ most, settled }: { most: number[]; settled: number[] }) =>
  most.map((count, index) => (count === settled[index] ? `${count}` : `${count}→${settled[index]}`)).join('/');

/** The app's registration is in etcd (it reconnected and kept or renewed its lease). */
async function registered(member: EtcdServer): Promise<void> {
  await waitFor(
    "the app's registration",
    async () => (await member.etcdctl('get', '--prefix', '--keys-only', '/services/busy/')).includes('/services/busy/'),
    {
      timeoutMs: 20_000,
    },
  );
}

describe('connections to etcd: one per member, whatever happened before, none left behind', () => {
  it('a single etcd killed (kill -9) and started again on its data 20 times, 0.5 s later', async () => {
    const etcd = await EtcdServer.start();
    const busy = await startBusyService([etcd.host], 'churning', 500, 50);
    try {
      const app = startBusyApp([etcd.host]);
      await app.waitForMessage('ready', 30_000);
      await registered(etcd);
      const before = openFileDescriptors(app.child.pid!);
      const counts: number[] = [];
      const shown: string[] = [];
      for (let restart = 1; restart <= 20; restart += 1) {
        busy.pause();
        await etcd.killAndStartAgain(500);
        busy.resume();
        const recovered = await connectionsAfterRecovery(app, [etcd]);
        counts.push(recovered.settled[0]);
        shown.push(described(recovered));
      }
      await registered(etcd);
      const after = openFileDescriptors(app.child.pid!);
      console.log(
        `[measured] connections to etcd after each of 20 restarts: ${shown.join(' ')}; open fds ${before} before, ${after} after`,
      );
      expect(counts.every((count) => count === 1)).toBe(true);
      expect(after - before).toBeLessThanOrEqual(2);
    } finally {
      busy.stop();
      await etcd.destroy();
    }
  }, 240_000);

  it('a 3-member cluster: each member killed and started again in turn, then the leader frozen (SIGSTOP) and thawed', async () => {
    const cluster = await EtcdCluster.start(3);
    const busy = await startBusyService(cluster.hosts, 'churning', 500, 50);
    try {
      const app = startBusyApp(cluster.hosts);
      await app.waitForMessage('ready', 30_000);
      await registered(cluster.members[0]);
      const seen: string[] = [];
      for (const member of cluster.members) {
        await member.killAndStartAgain(1000);
        await registered(member);
        const recovered = await connectionsAfterRecovery(app, cluster.members);
        const counts = recovered.settled;
        seen.push(`${member.name.split('-')[0]} restarted: ${described(recovered)}`);
        expect(
          counts.every((count) => count <= 1),
          seen.join('; '),
        ).toBe(true);
      }
      // Frozen long enough for the app's calls on it to time out and go elsewhere.
      const frozen = await cluster.leader();
      frozen.signal('SIGSTOP');
      await sleep(6000);
      frozen.signal('SIGCONT');
      await registered(frozen);
      const recovered = await connectionsAfterRecovery(app, cluster.members);
      const counts = recovered.settled;
      seen.push(`${frozen.name.split('-')[0]} (the leader) frozen 6 s, then thawed: ${described(recovered)}`);
      console.log(`[measured] connections per member (most seen over 1 s): ${seen.join('; ')}`);
      expect(
        counts.every((count) => count <= 1),
        seen.join('; '),
      ).toBe(true);
    } finally {
      busy.stop();
      await cluster.destroy();
    }
  }, 240_000);

  it('over TLS, with a user and password: etcd killed and started again 3 times', async () => {
    const certificates = await makeCertificates();
    const etcd = await EtcdServer.start({ tls: certificates });
    try {
      await etcd.etcdctl('user', 'add', 'root', '--new-user-password=root-S3cret-pw', '--interactive=false');
      await etcd.etcdctl('auth', 'enable');
      const etcdTls = {
        caFile: certificates.caFile,
        certFile: certificates.clientCertFile,
        keyFile: certificates.clientKeyFile,
      };
      const auth = { username: 'root', password: 'root-S3cret-pw' };
      const app = apps.start('busy-app', {
        service: 'busy',
        watched: 'churning',
        discovery: { etcd: { hosts: [etcd.url], auth }, ttl: 3 },
        etcdTls,
      });
      await app.waitForMessage('ready', 30_000);
      const counts: number[] = [];
      const shown: string[] = [];
      for (let restart = 1; restart <= 3; restart += 1) {
        await etcd.killAndStartAgain(1000);
        // A new token after every restart (etcd's simple tokens live in its memory): authentication rides the same connection.
        const recovered = await connectionsAfterRecovery(app, [etcd]);
        counts.push(recovered.settled[0]);
        shown.push(described(recovered));
      }
      const keys = await etcd.etcdctl(
        '--user',
        'root:root-S3cret-pw',
        'get',
        '--prefix',
        '--keys-only',
        '/services/busy/',
      );
      console.log(`[measured] TLS + auth, connections after each of 3 restarts: ${shown.join(' ')}`);
      expect(keys).toContain('/services/busy/');
      expect(counts.every((count) => count === 1)).toBe(true);
      expect(app.output).not.toContain('root-S3cret-pw');
    } finally {
      await etcd.destroy();
      await rm(certificates.dir, { recursive: true, force: true });
    }
  }, 120_000);
});
