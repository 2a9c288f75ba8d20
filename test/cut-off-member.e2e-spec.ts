import {
  AppProcesses,
  EtcdCluster,
  putEndpoint,
  testEndpoint,
  waitFor,
  type AppMessage,
  type AppProcess,
  type EtcdServer,
} from '@repo/testing';

// A member cut off from its cluster — its peer traffic dropped both ways (a partition), while its
// clients still reach it — accepts connections and answers gRPC pings: a watch on it would silently
// stop seeing changes. The app's streams carry etcd's require-leader flag, and its keepalives go to
// the member its watches are on: the next change reaches the app through another member. etcd's
// election timeout here is its default, 1 s.
const ELECTION_TIMEOUT_MS = 1000;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
let cluster: EtcdCluster;
const apps = new AppProcesses(() => ({ ETCD_HOSTS: cluster.hosts.join(',') }));

beforeEach(async () => {
  cluster = await EtcdCluster.start(3, { partitionable: true });
});
afterEach(async () => {
  await apps.stopAll();
  await cluster.destroy();
});

/** The member with an open Watch stream (etcd counts streams started and ended; the app's is the only one). */
async function watchStreamMember(): Promise<EtcdServer> {
  return waitFor("the app's watch stream", async () => {
    for (const member of cluster.members) {
      const open =
        (await member.metric('grpc_server_started_total', 'grpc_method="Watch"')) -
        (await member.metric('grpc_server_handled_total', 'grpc_method="Watch"'));
      if (open === 1) return member;
    }
    return undefined;
  });
}

/** A follower with the app's watch stream on it: leadership moves away if it led. */
async function followerWithTheStream(): Promise<EtcdServer> {
  const member = await watchStreamMember();
  const leader = await cluster.leader();
  if (leader === member) {
    const other = cluster.members.find((candidate) => candidate !== member)!;
    await leader.etcdctl('move-leader', await cluster.idOf(other));
    await waitFor('leadership to move', async () => (await cluster.leader()) !== member);
  }
  return member;
}

function sees(app: AppProcess, id: string): boolean {
  const lists = app.messages.filter(
    (message: AppMessage) => message.event === 'endpoints' && message.service === 'cut-news',
  );
  return ((lists.at(-1)?.endpoints ?? []) as { id: string }[]).some((endpoint) => endpoint.id === id);
}

/** Cuts the app's member off, writes a change through the others, and returns how long the app took to see it. */
async function cutOffAndWrite(app: AppProcess, member: EtcdServer, timeoutMs: number): Promise<number> {
  const others = cluster.client(cluster.members.filter((candidate) => candidate !== member));
  await others.get('warm-up'); // the test's own client connected before the cut, not after
  const cutAt = cluster.cutOff(member);
  await putEndpoint(others, testEndpoint('cut-news', 'after-cut', 7300, { host: '127.0.0.1' }));
  const writtenMs = Date.now() - cutAt;
  await waitFor('the change made after the cut', () => sees(app, 'after-cut'), { timeoutMs, intervalMs: 20 }).catch(
    (error: Error) => {
      throw new Error(`${error.message} (written ${writtenMs} ms after the cut)`);
    },
  );
  console.log(`[measured] the write after the cut was accepted ${writtenMs} ms after it`);
  return Date.now() - cutAt;
}

describe('a member cut off from its cluster', () => {
  it('an app with a lease: its keepalives find the member cut off, and its watches see the next change through another member within 3 election timeouts', async () => {
    const app = apps.start('consumer-app', {
      services: ['cut-news'],
      register: { service: 'cut-me', port: 7200 },
      discovery: { ttl: 3 },
    });
    await app.waitForMessage('ready', 20_000);
    const member = await followerWithTheStream();
    await sleep(9_000); // at work for a while: 8 keepalives answered promptly, the member is known to answer fast
    const tookMs = await cutOffAndWrite(app, member, 3 * ELECTION_TIMEOUT_MS);
    console.log(`[measured] cut off (app with ttl 3 s): the change reached the app ${tookMs} ms after the cut`);
    expect(tookMs).toBeLessThanOrEqual(3 * ELECTION_TIMEOUT_MS);
    expect(await watchStreamMember()).not.toBe(member);
  });

  it('an app with no lease: etcd closes its require-leader watch stream on the member, and the next change arrives through another', async () => {
    const app = apps.start('consumer-app', { services: ['cut-news'] });
    await app.waitForMessage('ready', 20_000);
    const member = await followerWithTheStream();
    // etcd cancels require-leader streams after 3 election timeouts without a leader, checked once
    // per election timeout, and a follower misses its leader after one or two: 4–6 in all.
    const tookMs = await cutOffAndWrite(app, member, 8 * ELECTION_TIMEOUT_MS);
    console.log(`[measured] cut off (app without a lease): the change reached the app ${tookMs} ms after the cut`);
    expect(await watchStreamMember()).not.toBe(member);
  });
});
