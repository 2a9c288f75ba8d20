import { StandInEtcd, waitFor } from '@repo/testing';
import { EtcdConnections } from './etcd-connections.js';
import type { KeyChange } from './etcd-gateway.js';
import { WatchStream } from './watch-stream.js';

// A WatchStream resuming on a member that lost its data (stand-in etcd members: real gRPC servers in
// this process): told apart by revision, or by raft term after an outage of every member, and its
// owner told once. test/cluster-faults.e2e-spec.ts does the same with a real etcd cluster wiped.
const closers: (() => void)[] = [];
afterEach(() => closers.splice(0).forEach((close) => close()));

async function started(port = 0): Promise<StandInEtcd> {
  const etcd = await new StandInEtcd(port).start();
  closers.push(() => etcd.stop());
  return etcd;
}

/** What the streams warned of, in order. */
let warnings: string[] = [];
beforeEach(() => (warnings = []));

function watchStream(host: string): WatchStream {
  return watchStreamAndConnections(host).stream;
}

function watchStreamAndConnections(host: string) {
  const grpcOptions = { 'grpc.initial_reconnect_backoff_ms': 50, 'grpc.max_reconnect_backoff_ms': 200 };
  const connections = new EtcdConnections({ hosts: [host], grpcOptions }, 2000);
  const warn = (message: string) => warnings.push(message);
  const stream = new WatchStream(connections, { attachTimeoutMs: 2000, checkTimeoutMs: 300, warn });
  closers.push(() => {
    stream.close();
    connections.close();
  });
  return { stream, connections };
}

const prefixRange = (prefix: string) => ({
  name: prefix,
  key: Buffer.from(prefix),
  rangeEnd: Buffer.from(prefix.slice(0, -1) + '0'),
  deletesOnly: false,
});

function watchP(stream: WatchStream, fromRevision: number, prefix = '/p/') {
  const seen: string[] = [];
  const broken: string[] = [];
  stream.watch(prefixRange(prefix), fromRevision, {
    changes: (changes: readonly KeyChange[]) =>
      seen.push(...changes.map((change) => `${change.key}@${change.revision}`)),
    broken: (error) => broken.push(error.message),
  });
  return { seen, broken };
}

/** Stops `etcd`, waits until the stream has found it unreachable, and starts a fresh member where it listened. */
async function restartedEmpty(etcd: StandInEtcd, term: number, writes: string[]): Promise<StandInEtcd> {
  etcd.stop();
  await new Promise((resolve) => setTimeout(resolve, 600));
  const back = await started(etcd.port);
  back.term = term;
  for (const key of writes) back.put(key, 'x');
  return back;
}

/** A stream watching `/p/` from revision 2, its change at revision 6 seen (after 4 writes elsewhere). */
async function watchingPastRevision6() {
  const etcd = await started();
  const stream = watchStream(etcd.host);
  const { seen, broken } = watchP(stream, 2);
  await waitFor('the watch to be created', () => etcd.creates.length === 1);
  for (let write = 0; write < 4; write += 1) etcd.put('/q/elsewhere', String(write));
  etcd.put('/p/a', '1');
  await waitFor('its change', () => seen.length === 1);
  return { etcd, stream, seen, broken };
}

describe('WatchStream on a member that lost its data', () => {
  it('tells its owner when the member it resumes on lost its data (revisions started over), once', async () => {
    const { etcd, stream, seen, broken } = await watchingPastRevision6();
    etcd.dropStreams();
    etcd.wipe();
    etcd.put('/p/new', 'n'); // revision 2: the watch resumes from 7, etcd is below what the app saw
    await waitFor('the loss to be told', () => broken.length === 1);
    expect(broken[0]).toMatch(/etcd is at revision 2, below 6: its data were lost/);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(broken).toHaveLength(1);
    expect(seen).toEqual(['/p/a@6']);
    // The owner lists again (at revision 2) and watches from 3: judged against etcd's new history.
    const again = watchP(stream, 3);
    etcd.put('/p/after', 'x');
    await waitFor('a change on the new watch', () => again.seen.length === 1);
    expect(again.broken).toEqual([]);
  });

  it('a member behind in applying (below the revision seen, same term): the leader is asked, no loss', async () => {
    const { etcd, seen, broken } = await watchingPastRevision6();
    etcd.appliedLag = 4; // the watch is created again at revision 2, below the 6 seen
    const ranges = etcd.ranges;
    etcd.dropStreams();
    await waitFor('the watch created again', () => etcd.creates.length === 2);
    await waitFor('the leader asked', () => etcd.ranges > ranges);
    etcd.put('/p/b', '1');
    await waitFor('the next change', () => seen.length === 2);
    expect({ seen, broken, warnings }).toEqual({ seen: ['/p/a@6', '/p/b@7'], broken: [], warnings: [] });
  });

  it('full outage, etcd back at the raft term seen: a loss even past the revision seen; every watch told', async () => {
    const etcd = await started();
    const stream = watchStream(etcd.host);
    const first = watchP(stream, 2);
    const second = watchP(stream, 2, '/q/');
    await waitFor('both watches created', () => etcd.creates.length === 2);
    etcd.put('/p/a', '1'); // revision 2
    await waitFor('its change', () => first.seen.length === 1);
    // Rebuilt empty at the same term (a young cluster wiped), and written up to revision 5 before the app came back.
    const back = await restartedEmpty(etcd, 2, ['/p/b', '/p/c', '/q/d', '/p/e']);
    await waitFor('the loss told to both owners', () => first.broken.length === 1 && second.broken.length === 1);
    expect(first.broken[0]).toMatch(
      /outage of every member at raft term 2, not above the one seen: its data were lost/,
    );
    expect(second.broken[0]).toMatch(/lost its data/);
    expect(warnings).toEqual([`${first.broken[0]}: every watch lists its prefix again`]); // once, not per watch
    expect(first.seen).toEqual(['/p/a@2']); // nothing of the new history delivered as if it followed the old
    // The owners list again (at revision 5) and watch from 6: judged against the new history.
    const again = watchP(stream, 6);
    back.put('/p/f', 'y');
    await waitFor('a change on the new watch', () => again.seen.length === 1);
    expect(again.broken).toEqual([]);
  });

  it('after a full outage, etcd back at a higher raft term (restarted, data kept) resumes: no loss told', async () => {
    const etcd = await started();
    const stream = watchStream(etcd.host);
    const { seen, broken } = watchP(stream, 2);
    await waitFor('the watch created', () => etcd.creates.length === 1);
    etcd.put('/p/a', '1'); // revision 2
    await waitFor('its change', () => seen.length === 1);
    const back = await restartedEmpty(etcd, 3, ['/q/x']); // at revision 2 again: what a restart with data keeps
    await waitFor('the watch resumed from revision 3', () => back.creates.length === 1);
    expect(back.creates[0].startRevision).toBe(3);
    back.put('/p/b', '2');
    await waitFor('the change after the restart', () => seen.length === 2);
    expect(broken).toEqual([]);
    expect(warnings).toEqual([]);
  });

  it("an app whose first watch went unanswered before the outage: its lists' answers tell the term seen", async () => {
    const etcd = await started();
    etcd.put('/p/a', '1'); // revision 2
    const { stream, connections } = watchStreamAndConnections(etcd.host);
    // the owner's list, at revision 2
    await connections.exec('KV', 'range', { key: Buffer.from('/p/'), range_end: Buffer.from('/p0') });
    etcd.silent = true; // the create request goes out, and is not answered before the member stops
    const { seen, broken } = watchP(stream, 3);
    await waitFor('the create request', () => etcd.creates.length === 1);
    const back = await restartedEmpty(etcd, 2, ['/p/b', '/q/c', '/p/d']);
    await waitFor('the loss told', () => broken.length === 1);
    expect(broken[0]).toMatch(/outage of every member at raft term 2/);
    expect(seen).toEqual([]);
    expect(back.creates).toHaveLength(1);
  });

  it("through grpc-proxy, a joining watch's made-up header (no term, its start revision): no loss told", async () => {
    const etcd = await started();
    for (let write = 0; write < 5; write += 1) etcd.put('/q/elsewhere', String(write)); // revision 6
    const { stream, connections } = watchStreamAndConnections(etcd.host);
    // seen: revision 6
    await connections.exec('KV', 'range', { key: Buffer.from('/q/'), range_end: Buffer.from('/q0') });
    etcd.proxyCreatedHeaders = true;
    const ranges = etcd.ranges;
    // Its list of /p/ came from the proxy's cache, at revision 2: the watch starts at 3, below what the app saw.
    const { seen, broken } = watchP(stream, 3);
    await waitFor('the watch created', () => etcd.creates.length === 1);
    etcd.put('/p/a', '1');
    await waitFor('its change', () => seen.length === 1);
    expect(broken).toEqual([]);
    expect(etcd.creates).toHaveLength(1);
    expect(etcd.ranges).toBe(ranges); // nothing to ask the leader: the header says nothing of etcd's history
  });

  it('below the revision seen, the leader never answering: a loss after 3 questions (a list, not a miss)', async () => {
    const etcd = await started();
    const stream = watchStream(etcd.host);
    const { seen, broken } = watchP(stream, 2);
    await waitFor('the watch to be created', () => etcd.creates.length === 1);
    for (let write = 0; write < 5; write += 1) etcd.put('/p/a', String(write));
    await waitFor('its changes', () => seen.length === 5);
    etcd.appliedLag = 4;
    etcd.unavailable = true; // every read refused: the leader cannot be asked
    const ranges = etcd.ranges;
    etcd.dropStreams();
    await waitFor('the loss told', () => broken.length === 1, { timeoutMs: 5000 });
    expect(etcd.ranges - ranges).toBe(3);
    expect(broken[0]).toMatch(/below 6 \(the leader did not answer 3 times\): its data were lost/);
  });
});
