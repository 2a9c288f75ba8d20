import { StandInEtcd, waitFor } from '@repo/testing';
import { EtcdConnections } from './etcd-connections.js';
import { LeaseKeepAlives } from './lease-keepalives.js';

// LeaseKeepAlives against stand-in etcd members (real gRPC servers in this process). The e2e specs
// count the streams a real etcd sees (test/etcd-streams.e2e-spec.ts).
const closers: (() => void)[] = [];
afterEach(() => closers.splice(0).forEach((close) => close()));

async function started(): Promise<StandInEtcd> {
  const etcd = await new StandInEtcd().start();
  closers.push(() => etcd.stop());
  return etcd;
}

function keepAlives(hosts: string[]) {
  const connections = new EtcdConnections(
    { hosts, grpcOptions: { 'grpc.initial_reconnect_backoff_ms': 50, 'grpc.max_reconnect_backoff_ms': 200 } },
    2000,
  );
  const keepAlive = new LeaseKeepAlives(connections);
  closers.push(() => {
    keepAlive.close();
    connections.close();
  });
  return { connections, keepAlive };
}

describe('LeaseKeepAlives', () => {
  it("sends every keepalive of the app's leases on one stream, each answer to its own lease", async () => {
    const etcd = await started();
    const { keepAlive } = keepAlives([etcd.host]);
    for (let round = 0; round < 10; round += 1) {
      expect(await Promise.all([keepAlive.keepAlive('1', 1000), keepAlive.keepAlive('2', 1000)])).toEqual([5, 5]);
    }
    expect(etcd.keepalives).toBe(20);
    expect(etcd.keepaliveStreams).toBe(1);
  });

  it('a lost stream fails what waits on it, and the next keepalive opens another', async () => {
    const etcd = await started();
    etcd.keepaliveDelayMs = 200;
    const { keepAlive } = keepAlives([etcd.host]);
    const waiting = keepAlive.keepAlive('1', 1000);
    // Dropped once etcd has the keepalive and before it answers (not 50 ms after the call: on a loaded
    // machine the stream was not open yet, the keepalive went on the next one, and it was answered).
    await waitFor('the keepalive at etcd', () => etcd.keepalives === 1, { intervalMs: 5 });
    etcd.dropStreams();
    await expect(waiting).rejects.toThrow(/restarted/);
    expect(await keepAlive.keepAlive('1', 1000)).toBe(5);
    expect(etcd.keepaliveStreams).toBe(2);
  });

  it('waits the longest for a member not known prompt; 500 ms once its last 8 answers came within 100 ms', async () => {
    const etcd = await started();
    const { connections, keepAlive } = keepAlives([etcd.host]);
    const answers = async (count: number, delayMs: number) => {
      etcd.keepaliveDelayMs = delayMs;
      for (let answer = 0; answer < count; answer += 1) expect(await keepAlive.keepAlive('1', 1500)).toBe(5);
    };
    // Nothing known of the member yet: the longest wait.
    await answers(1, 700);
    // 7 prompt answers and one of 150 ms: not known to answer promptly, a late one is still no fault.
    await answers(7, 0);
    await answers(1, 150);
    await answers(1, 700);
    expect(connections.members[0].unanswered).toBe(false);
    // 8 prompt answers in a row: known to answer fast, left after 500 ms.
    await answers(8, 0);
    etcd.keepaliveDelayMs = 700;
    const startedAt = Date.now();
    await expect(keepAlive.keepAlive('1', 1500)).rejects.toThrow(/no keepalive answer from etcd at .* within 500 ms/);
    expect(Date.now() - startedAt).toBeLessThan(700);
    expect(connections.members[0].unanswered).toBe(true);
    expect(etcd.keepaliveStreams).toBe(1);
    // Known no more after that: the next keepalive, on a new stream, waits the longest again.
    await answers(1, 700);
    expect(etcd.keepaliveStreams).toBe(2);
  });

  it('moves to another member when any call finds its member unanswering', async () => {
    const one = await started();
    const two = await started();
    const { connections, keepAlive } = keepAlives([one.host, two.host]);
    await keepAlive.keepAlive('1', 1000);
    const [first, second] = one.keepalives === 1 ? [one, two] : [two, one];
    connections.markUnanswered(connections.members[first === one ? 0 : 1]);
    await keepAlive.keepAlive('1', 1000);
    expect([first.keepalives, second.keepalives]).toEqual([1, 1]);
    expect(second.keepaliveStreams).toBe(1);
  });
});
