import type { INestApplicationContext } from '@nestjs/common';
import type { Etcd3 } from 'etcd3';
import type { DiscoveryClient } from 'nestjs-etcd-discovery';
import {
  type AppProcess,
  AppProcesses,
  CapturingLogger,
  EtcdCluster,
  type EtcdServer,
  leaseIds,
  putEndpoint,
  readKeys,
  startConsumer,
  testEndpoint,
  waitFor,
} from '@repo/testing';

// Faults on a 3-node etcd cluster on loopback. Figures go to stdout as "[measured] …" lines
// (docs/reliability.md quotes them); the assertions are the requirements, not the speed.
const ttl = 5;
const retry = { initialDelayMs: 100, maxDelayMs: 1000 };
let cluster: EtcdCluster;
const processes = new AppProcesses(() => ({ ETCD_HOSTS: cluster.hosts.join(',') }));
const contexts: INestApplicationContext[] = [];

beforeEach(async () => {
  cluster = await EtcdCluster.start(3);
});
afterEach(async () => {
  await Promise.all(contexts.splice(0).map((context) => context.close()));
  await processes.stopAll();
  await cluster.destroy();
});

function measured(what: string, ms: number): void {
  console.log(`[measured] ${what}: ${ms} ms`);
}

async function registeredApp(name: string): Promise<{ app: AppProcess; key: string }> {
  const app = processes.start('discoverable-app', {
    transport: 'http',
    services: [{ name }],
    discovery: { ttl, retry },
  });
  const message = await app.waitForMessage('registration', 20_000, (event) => event.type === 'registered');
  return { app, key: message.key as string };
}

/** What each consumer logged, by its client: a failure says it. */
const consumerLogs = new Map<DiscoveryClient, CapturingLogger>();

async function consumer(requires: string[]): Promise<DiscoveryClient> {
  // The TTL of the apps, for its own lease too (its policy report's): etcd gives every lease its whole TTL again
  // when a leader is elected, so a lease the app took for lost in an outage lingers that long after it — with the
  // default 10 s, past the wait for stale leases to go (a CI run).
  const logger = new CapturingLogger();
  const { app, discovery } = await startConsumer({ etcd: { hosts: cluster.hosts }, requires, retry, ttl }, logger);
  contexts.push(app);
  consumerLogs.set(discovery, logger);
  return discovery;
}

/** Waits for `discovery` to list endpoint `id` of "news"; on a timeout, says what it held and logged, and etcd held. */
async function newsSeen(discovery: DiscoveryClient, id: string, client: Etcd3, timeoutMs: number): Promise<void> {
  try {
    await waitFor(`the watcher to have news/${id}`, () => discovery.getEndpoints('news').some((e) => e.id === id), {
      timeoutMs,
    });
  } catch (error) {
    const logger = consumerLogs.get(discovery);
    const held = discovery.getEndpoints('news').map((endpoint) => endpoint.id);
    const stored = [...(await readKeys(client, '/services/news/').catch(() => new Map())).keys()];
    throw new Error(
      `${(error as Error).message}. It held news ${JSON.stringify(held)}; etcd holds ${JSON.stringify(stored)}; ` +
        `it warned ${JSON.stringify(logger?.warnings)}, errors ${JSON.stringify(logger?.errors)}`,
      { cause: error },
    );
  }
}

/** Writes the endpoint `id` of service "news" through `client`. */
const writeNews = (client: Etcd3, id: string) => putEndpoint(client, testEndpoint('news', id, 5000));

/**
 * Writes a new endpoint through `members` (retrying while the cluster elects a leader) and reports
 * how long the write took and how long after it `discovery` had the endpoint.
 */
async function delivery(
  what: string,
  discovery: DiscoveryClient,
  members: EtcdServer[],
  id: string,
  timeoutMs: number,
): Promise<void> {
  const client = cluster.client(members);
  const startedAt = Date.now();
  await waitFor(`the write of ${id}`, () => writeNews(client, id).then(() => true), { timeoutMs });
  const writtenAt = Date.now();
  await newsSeen(discovery, id, client, timeoutMs);
  measured(`${what}: write accepted after`, writtenAt - startedAt);
  measured(`${what}: watcher had it after the write`, Date.now() - writtenAt);
}

/**
 * Checks, over two TTLs, that `key` stays stored under a live lease. On failure it says what the app
 * reported meanwhile (lease lost, retries, re-registered): this is the check that failed now and
 * then in full-suite runs, and the app's events say how.
 */
async function expectStaysRegistered(client: Etcd3, key: string, app: AppProcess): Promise<void> {
  const until = Date.now() + 2 * ttl * 1000;
  try {
    while (Date.now() < until) {
      await waitFor(`${key} to be stored`, async () => (await readKeys(client, '/services/')).has(key), {
        timeoutMs: 5000,
      });
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  } catch (error) {
    const events = app.messages
      .filter((message) => message.event === 'registration')
      .map(({ event: _event, ...rest }) => JSON.stringify(rest));
    throw new Error(`${(error as Error).message}\nthe app's registration events:\n${events.join('\n')}`, {
      cause: error,
    });
  }
}

describe('on a 3-node etcd cluster', () => {
  it('a killed leader: registrations stay, watchers keep delivering, the clients use the other members', async () => {
    const { app, key } = await registeredApp('steady');
    const discovery = await consumer(['steady', 'news']);
    const leader = await cluster.leader();
    await leader.stop('SIGKILL');
    const survivors = cluster.members.filter((member) => member !== leader);
    await delivery('leader killed', discovery, survivors, 'after-kill', 15_000);
    await expectStaysRegistered(cluster.client(survivors), key, app);
    expect(discovery.pick('steady').id).toBe(key.split('/').at(-1));
  });

  it('a frozen (SIGSTOP) and thawed leader: registrations stay, watchers keep delivering', async () => {
    const { app, key } = await registeredApp('steady');
    const discovery = await consumer(['steady', 'news']);
    const leader = await cluster.leader();
    leader.signal('SIGSTOP');
    const others = cluster.members.filter((member) => member !== leader);
    try {
      await delivery('leader frozen', discovery, others, 'while-frozen', 30_000);
      await expectStaysRegistered(cluster.client(others), key, app);
    } finally {
      leader.signal('SIGCONT');
    }
    await delivery('leader thawed', discovery, cluster.members, 'after-thaw', 30_000);
    expect(discovery.getEndpoints('steady')).toHaveLength(1);
  });

  it.each([
    ['down for longer than the TTL', false],
    ['back with its data wiped', true],
  ])(
    'the whole cluster %s: apps keep running and serving, then every app is registered exactly once and watchers converge',
    async (_case, wipe) => {
      const apps = await Promise.all([registeredApp('fleet'), registeredApp('fleet')]);
      const discovery = await consumer(['fleet', 'news']);
      await waitFor('both instances', () => discovery.getEndpoints('fleet').length === 2);

      await Promise.all(cluster.members.map((member) => member.stop()));
      await new Promise((resolve) => setTimeout(resolve, (ttl + 2) * 1000));
      for (const { app } of apps) expect(app.child.exitCode).toBeNull();
      expect(discovery.getEndpoints('fleet')).toHaveLength(2); // the last known endpoints…
      expect(apps.map(({ key }) => key)).toContain(`/services/fleet/${discovery.pick('fleet').id}`); // …and pick() serves them

      const restartedAt = Date.now();
      await cluster.restartAll({ wipe });
      const client = cluster.client();
      // Not awaited: the first write after a restart can wait out etcd's own request timeout (7 s)
      // while leadership settles, and it must not delay the measurement of the apps.
      const written = writeNews(client, 'after-outage');
      await waitFor(
        'every app registered again',
        async () => {
          const keys = await readKeys(client, '/services/fleet/');
          return apps.every(({ key }) => keys.has(key));
        },
        { timeoutMs: 20_000 },
      );
      measured(`cluster ${wipe ? 'wiped' : 'restarted'} → every app registered again`, Date.now() - restartedAt);
      await written;
      await newsSeen(discovery, 'after-outage', client, 20_000);
      measured(
        `cluster ${wipe ? 'wiped' : 'restarted'} → watcher had a write made after the restart`,
        Date.now() - restartedAt,
      );
      // Exactly once: one key per app, one lease per app process, no stale lease left — and one more: this process'
      // app calls services and reports what it applies of their traffic policies under a lease of its own.
      await waitFor('stale leases to go', async () => (await leaseIds(client)).length === apps.length + 1, {
        timeoutMs: (ttl + 5) * 1000,
      });
      const truth = apps
        .map(({ key }) => key)
        .sort()
        .join();
      await waitFor(
        'the fleet watcher to hold what etcd holds',
        () =>
          discovery
            .getEndpoints('fleet')
            .map((endpoint) => `/services/fleet/${endpoint.id}`)
            .sort()
            .join() === truth,
        {
          timeoutMs: 10_000,
        },
      );
    },
  );

  it('churn for a minute: every watcher ends with what etcd holds, one lease per live process', async () => {
    const config = (churnMs: number) => ({ instances: 8, churnMs, discovery: { ttl: 3, retry } });
    const start = (churnMs: number) => processes.start('churn-worker', config(churnMs));
    const consumers = [1, 2].map(() => processes.start('consumer-app', { services: ['churn'], discovery: { retry } }));
    const workers = [60_000, 60_000, 60_000, 60_000].map(start);
    await Promise.all(workers.map((worker) => worker.waitForMessage('registered', 20_000)));
    await new Promise((resolve) => setTimeout(resolve, 20_000));
    workers[0].kill('SIGKILL');
    workers[1].kill('SIGKILL');
    await new Promise((resolve) => setTimeout(resolve, 10_000));
    const late = [start(25_000), start(25_000)];
    const live = [workers[2], workers[3], ...late];
    const steady = await Promise.all(live.map((worker) => worker.waitForMessage('steady', 60_000)));

    const client = cluster.client();
    const expected = steady.flatMap((message) => message.keys as string[]).sort();
    await waitFor(
      "the killed processes' keys to expire",
      async () => [...(await readKeys(client, '/services/churn/')).keys()].sort().join() === expected.join(),
      {
        timeoutMs: 15_000,
      },
    );
    // One lease per live process: each worker's, and each consumer's (its report of the traffic policies it applies).
    const leases = await leaseIds(client);
    expect(leases).toEqual(expect.arrayContaining(steady.map((message) => message.lease as string)));
    expect(leases).toHaveLength(steady.length + consumers.length);
    const expectedIds = expected.map((key) => key.split('/').at(-1)).join();
    for (const watcher of consumers) {
      await waitFor(
        'the watcher to hold what etcd holds',
        () => {
          const lists = watcher.messages.filter((message) => message.event === 'endpoints');
          const last = lists.at(-1)?.endpoints as { id: string }[] | undefined;
          return last?.map((endpoint) => endpoint.id).join() === expectedIds;
        },
        { timeoutMs: 10_000 },
      );
    }
    console.log(
      `[measured] churn: ${live.length + 2} processes, ${expected.length} endpoints at the end, ${consumers.map((c) => c.messages.length).join('/')} lists seen by the watchers`,
    );
  }, 180_000);
});
