import { StandInEtcd, waitFor } from '@repo/testing';
import type { IOptions } from 'etcd3';
import { EtcdConnections } from './etcd-connections.js';
import type { KeyChange } from './etcd-gateway.js';
import { WatchStream } from './watch-stream.js';

// WatchStream against stand-in etcd members (real gRPC servers in this process): where a watch
// resumes, which member its stream is on, what a refusal costs. test/watch-resume.e2e-spec.ts and the
// cluster e2e specs do the same against real etcd processes.
const closers: (() => void)[] = [];
afterEach(() => closers.splice(0).forEach((close) => close()));

async function started(): Promise<StandInEtcd> {
  const etcd = await new StandInEtcd().start();
  closers.push(() => etcd.stop());
  return etcd;
}

function watchStream(
  hosts: string[],
  options: Omit<Partial<IOptions>, 'hosts'> = {},
  attachTimeoutMs = 2000,
  silenceMs?: number,
) {
  const connections = new EtcdConnections(
    {
      hosts,
      grpcOptions: { 'grpc.initial_reconnect_backoff_ms': 50, 'grpc.max_reconnect_backoff_ms': 200 },
      ...options,
    },
    2000,
  );
  const warnings: string[] = [];
  const stream = new WatchStream(connections, {
    attachTimeoutMs,
    checkTimeoutMs: 300,
    silenceMs,
    warn: (message) => warnings.push(message),
  });
  closers.push(() => {
    stream.close();
    connections.close();
  });
  return { connections, stream, warnings };
}

/** Watches `/p/` from `fromRevision`, recording what it delivers. */
const prefixRange = (prefix: string) => ({
  name: prefix,
  key: Buffer.from(prefix),
  rangeEnd: Buffer.from(prefix.slice(0, -1) + '0'),
  deletesOnly: false,
});

function watchP(stream: WatchStream, fromRevision: number, prefix = '/p/') {
  const seen: string[] = [];
  const broken: string[] = [];
  const handle = stream.watch(prefixRange(prefix), fromRevision, {
    changes: (changes: readonly KeyChange[]) =>
      seen.push(...changes.map((change) => `${change.key}@${change.revision}`)),
    broken: (error) => broken.push(error.message),
  });
  return { seen, broken, handle };
}

describe('WatchStream', () => {
  it('resumes on a new stream right after the last change it delivered: nothing skipped, nothing twice', async () => {
    const etcd = await started();
    const { stream } = watchStream([etcd.host]);
    const { seen } = watchP(stream, 2);
    await waitFor('the watch to be created', () => etcd.creates.length === 1);
    etcd.put('/p/a', '1');
    etcd.put('/q/other', 'x');
    etcd.put('/p/b', '2');
    await waitFor('both changes', () => seen.length === 2);
    etcd.dropStreams();
    etcd.put('/p/c', '3');
    await waitFor('the change made while the stream was down', () => seen.length === 3);
    expect(seen).toEqual(['/p/a@2', '/p/b@4', '/p/c@5']);
    expect(etcd.creates.map(({ startRevision, hasLeader }) => ({ startRevision, hasLeader }))).toEqual([
      { startRevision: 2, hasLeader: true },
      { startRevision: 5, hasLeader: true },
    ]);
  });

  it('a progress notification moves where a quiet watch resumes', async () => {
    const etcd = await started();
    const { stream } = watchStream([etcd.host]);
    watchP(stream, 2);
    await waitFor('the watch to be created', () => etcd.creates.length === 1);
    for (let write = 0; write < 5; write += 1) etcd.put('/q/elsewhere', String(write));
    etcd.progress();
    await new Promise((resolve) => setTimeout(resolve, 50));
    etcd.dropStreams();
    await waitFor('the watch to be created again', () => etcd.creates.length === 2);
    expect(etcd.creates[1].startRevision).toBe(etcd.revision);
  });

  it('tells its owner once when etcd cancels it as compacted, and does not create it again', async () => {
    const etcd = await started();
    for (let write = 0; write < 10; write += 1) etcd.put('/q/elsewhere', String(write));
    etcd.compactedRevision = 8;
    const { stream } = watchStream([etcd.host]);
    const { broken } = watchP(stream, 3);
    await waitFor('the cancellation', () => broken.length === 1);
    expect(broken[0]).toMatch(/required revision has been compacted/);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(etcd.creates).toHaveLength(1);
    expect(broken).toHaveLength(1);
  });

  it('refused with a dropped token: re-opens the stream on a new token, every watch resuming exactly', async () => {
    const etcd = await started();
    const { stream } = watchStream([etcd.host], { auth: { username: 'u', password: 'p' } });
    const first = watchP(stream, 2);
    await waitFor('the first watch', () => etcd.creates.length === 1);
    etcd.put('/p/a', '1');
    await waitFor('its change', () => first.seen.length === 1);
    etcd.forgetTokens(); // unused for --auth-token-ttl, or etcd restarted
    const second = watchP(stream, etcd.revision + 1, '/r/');
    await waitFor(
      'both watches on a stream with the new token',
      () => etcd.creates.filter((create) => create.token === 't2').length === 2,
    );
    etcd.put('/p/b', '2');
    etcd.put('/r/x', '3');
    await waitFor('a change on each', () => first.seen.length === 2 && second.seen.length === 1);
    expect(etcd.tokensIssued).toEqual(['t1', 't2']);
    expect(etcd.creates.map(({ key, startRevision, token }) => `${key}@${startRevision} ${token}`)).toEqual([
      '/p/@2 t1',
      '/r/@3 t1',
      '/p/@3 t2',
      '/r/@3 t2',
    ]);
  });

  it('refused with a fresh token too: retries after a backoff, one warning, no loop; other watches go on', async () => {
    const etcd = await started();
    etcd.refuseWatch = (key) => (key === '/secret/' ? 'etcdserver: permission denied' : undefined);
    const { stream, warnings } = watchStream([etcd.host], { auth: { username: 'u', password: 'p' } });
    const allowed = watchP(stream, 2);
    const refused = watchP(stream, 2, '/secret/');
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const asked = etcd.creates.filter((create) => create.key === '/secret/').length;
    // Once, once more with a renewed token, and at most twice more in a second of backoff.
    expect(asked).toBeGreaterThanOrEqual(2);
    expect(asked).toBeLessThanOrEqual(4);
    expect(etcd.tokensIssued.length).toBeLessThanOrEqual(2);
    expect(warnings).toEqual([
      'etcd refused the watch on /secret/ (etcdserver: permission denied); asking again in the background',
    ]);
    etcd.put('/p/a', '1');
    await waitFor('the allowed watch to deliver', () => allowed.seen.length === 1);
    expect(refused.broken).toEqual([]);
  });

  it('a create request left unanswered marks the member and moves the stream to another', async () => {
    const frozen = await started();
    const live = await started();
    frozen.silent = true;
    const { connections, stream } = watchStream([frozen.host, live.host], {}, 300);
    // the live member is tried last: the stream opens on the frozen one
    connections.markUnanswered(connections.members[1]);
    const { seen } = watchP(stream, 2);
    await waitFor('the watch created on the live member', () => live.creates.length === 1);
    expect(frozen.creates).toHaveLength(1);
    expect(connections.members[0].unanswered).toBe(true);
    live.put('/p/a', '1');
    await waitFor('its change', () => seen.length === 1);
  });

  it('a create answered late by a member that answers the rest (grpc-proxy behind a queue) is waited for', async () => {
    const slow = await started();
    const other = await started();
    slow.createDelayMs = 1200; // four attach timeouts
    const { connections, stream } = watchStream([slow.host, other.host], {}, 300, 100);
    connections.markUnanswered(connections.members[1]); // the stream opens on the slow one
    const { seen } = watchP(stream, 2);
    // Meanwhile the member answers the stream's checks (ranges): alive, only slow to create.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(slow.ranges).toBeGreaterThanOrEqual(1);
    expect({ slow: slow.creates.length, other: other.creates.length }).toEqual({ slow: 1, other: 0 });
    expect(connections.members[0].unanswered).toBe(false);
    slow.put('/p/a', '1');
    await waitFor('its change', () => seen.length === 1);
  });

  it.each([
    ['keeps the ids asked for (etcd): the creates after the first are sent at once', false, 4],
    ['chooses its own ids (grpc-proxy): the creates go one at a time', true, 2],
  ])('a member that %s', async (_, choosesWatchIds, sentBySecondAnswer) => {
    const etcd = await started();
    etcd.createDelayMs = 500;
    etcd.choosesWatchIds = choosesWatchIds;
    const { stream } = watchStream([etcd.host]);
    const watches = ['/a/', '/b/', '/c/', '/d/'].map((prefix) => watchP(stream, 2, prefix));
    await waitFor('the first create', () => etcd.creates.length > 0);
    await new Promise((resolve) => setTimeout(resolve, 750)); // the first answered at 500 ms, the second not yet
    expect(etcd.creates).toHaveLength(sentBySecondAnswer);
    await waitFor('every create', () => etcd.creates.length === 4, { timeoutMs: 4000 });
    expect(new Set(etcd.creates.map((create) => create.askedId)).size).toBe(4);
    ['/a/x', '/b/x', '/c/x', '/d/x'].forEach((key) => etcd.put(key, '1'));
    // Each watch has its own changes only: every answer went to the create it answers.
    await waitFor('each change', () => watches.every((watch) => watch.seen.length === 1));
    expect(watches.map((watch) => watch.seen[0].split('@')[0])).toEqual(['/a/x', '/b/x', '/c/x', '/d/x']);
  });

  it('moves at once, resuming exactly, when its member is found unanswering or loses the leader', async () => {
    const one = await started();
    const two = await started();
    const { connections, stream } = watchStream([one.host, two.host]);
    watchP(stream, 2);
    await waitFor('the watch', () => one.creates.length + two.creates.length === 1);
    const [first, second] = one.creates.length === 1 ? [one, two] : [two, one];
    connections.markUnanswered(connections.members[first === one ? 0 : 1]);
    await waitFor('the watch on the other member', () => second.creates.length === 1);
    expect(second.creates[0].startRevision).toBe(2);
    // Now etcd closes the stream on the second: it has lost its leader. The first is still marked: the
    // stream moves back to it all the same (never nowhere), and the second is marked in turn.
    second.dropStreams('etcdserver: no leader');
    await waitFor('the watch back on the first member', () => first.creates.length === 2);
    expect(connections.members.map((member) => member.unanswered)).toEqual([true, true]);
  });

  it('checks its member once silent: one that answers stays, one that does not is left, watches resuming', async () => {
    const one = await started();
    const two = await started();
    const { connections, stream } = watchStream([one.host, two.host], {}, 2000, 400);
    const { seen } = watchP(stream, 2);
    await waitFor('the watch', () => one.creates.length + two.creates.length === 1);
    const [first, second] = one.creates.length === 1 ? [one, two] : [two, one];
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(first.ranges).toBeGreaterThanOrEqual(1); // asked, answered: still there
    expect(second.creates).toHaveLength(0);
    first.silent = true; // frozen: its connection and the stream stay open, nothing is answered
    await waitFor('the watch on the other member', () => second.creates.length === 1, { timeoutMs: 3000 });
    expect(connections.members[first === one ? 0 : 1].unanswered).toBe(true);
    second.put('/p/a', '1');
    await waitFor('its change', () => seen.length === 1);
  });
});

// Creates sent at once on a member that keeps the ids asked for: whatever happens to one of them while others are in
// flight, each watch gets its own changes, once.
describe('WatchStream, creates in flight', () => {
  const prefixes = ['/a/', '/b/', '/c/', '/d/'];
  /** Puts one key under each prefix; resolves once `watches` (by prefix) saw theirs, and checks nothing else came. */
  async function eachSeesItsOwn(etcd: StandInEtcd, watches: Map<string, ReturnType<typeof watchP>>): Promise<void> {
    const before = etcd.revision;
    prefixes.forEach((prefix) => etcd.put(`${prefix}x`, '1'));
    await waitFor('each change', () => [...watches.values()].every((watch) => watch.seen.length === 1));
    await new Promise((resolve) => setTimeout(resolve, 100)); // nothing more on its way
    for (const [prefix, watch] of watches) {
      const revision = before + 1 + prefixes.indexOf(prefix);
      expect({ prefix, seen: watch.seen, broken: watch.broken }).toEqual({
        prefix,
        seen: [`${prefix}x@${revision}`],
        broken: [],
      });
    }
  }

  /** A watch of each prefix, each create answered 300 ms after it came: resolves once the 4 were sent. */
  async function fourCreatesSent() {
    const etcd = await started();
    etcd.createDelayMs = 300;
    const { stream } = watchStream([etcd.host]);
    const watches = new Map(prefixes.map((prefix) => [prefix, watchP(stream, 2, prefix)]));
    await waitFor('every create sent', () => etcd.creates.length === 4);
    return { etcd, watches };
  }

  it('one refused among them: the others deliver their own changes; it is asked again, not broken', async () => {
    const etcd = await started();
    etcd.createDelayMs = 100;
    etcd.refuseWatch = (key) => (key === '/b/' ? 'etcdserver: permission denied' : undefined);
    const { stream, warnings } = watchStream([etcd.host]);
    const watches = new Map(prefixes.map((prefix) => [prefix, watchP(stream, 2, prefix)]));
    // The first refusal re-opens the stream (a token may have been renewed); the second is one: a warning.
    await waitFor('the warning', () => warnings.length === 1);
    const refused = watches.get('/b/')!;
    watches.delete('/b/');
    await eachSeesItsOwn(etcd, watches);
    expect(refused).toMatchObject({ seen: [], broken: [] });
    expect(warnings).toEqual([
      'etcd refused the watch on /b/ (etcdserver: permission denied); asking again in the background',
    ]);
  });

  it('one cancelled before its answer: etcd is told to cancel it once answered; it delivers nothing', async () => {
    const { etcd, watches } = await fourCreatesSent();
    const cancelled = watches.get('/c/')!;
    await cancelled.handle.cancel(); // answered at 600 ms, after the first
    watches.delete('/c/');
    const asked = etcd.creates.find((create) => create.key === '/c/')!.askedId;
    await waitFor('the cancel request', () => etcd.cancels.includes(asked));
    await eachSeesItsOwn(etcd, watches);
    expect(cancelled.seen).toEqual([]);
    expect(etcd.cancels).toEqual([asked]);
  });

  it('the stream failing with creates unanswered: each is created again on a new stream, where it was', async () => {
    const { etcd, watches } = await fourCreatesSent();
    etcd.dropStreams(); // the first answered, three not
    await waitFor('every watch created again', () => etcd.creates.length === 8, { timeoutMs: 5000 });
    expect(etcd.creates.slice(4).map(({ key, startRevision }) => `${key}@${startRevision}`)).toEqual(
      prefixes.map((prefix) => `${prefix}@2`),
    );
    await eachSeesItsOwn(etcd, watches);
  });
});
