import { createServer, type Server as NetServer } from 'node:net';
import { establishedConnections, StandInEtcd, waitFor } from '@repo/testing';
import { circuitBreaker, ConsecutiveBreaker, handleWhen, noop } from 'cockatiel';
import { isRecoverableError, type IOptions } from 'etcd3';
import { EtcdConnections } from './etcd-connections.js';
import { LeaseKeepAlives } from './lease-keepalives.js';
import { unaryCall } from './unary-call.js';

// EtcdConnections against a stand-in etcd (`StandInEtcd`: a real gRPC server in this process), so
// that tokens, failures and connections can be steered exactly. The e2e specs
// (test/etcd-connections.e2e-spec.ts) do the same against real etcd processes.

const range = { key: Buffer.from('/services/'), range_end: Buffer.from('/services0') };
const deadline = () => ({ deadline: Date.now() + 2000 });
const closers: (() => void)[] = [];
afterEach(() => closers.splice(0).forEach((close) => close()));

function connect(hosts: string[], options: Omit<Partial<IOptions>, 'hosts'> = {}): EtcdConnections {
  const connections = new EtcdConnections(
    {
      hosts,
      grpcOptions: { 'grpc.initial_reconnect_backoff_ms': 50, 'grpc.max_reconnect_backoff_ms': 200 },
      ...options,
    },
    2000,
  );
  closers.push(() => connections.close());
  return connections;
}

async function started(etcd = new StandInEtcd()): Promise<StandInEtcd> {
  await etcd.start();
  closers.push(() => etcd.stop());
  return etcd;
}

describe('EtcdConnections', () => {
  it('renews a stale token once per call, outside the breaker: a half-open trial never waits on itself', async () => {
    const etcd = await started();
    const breaker = circuitBreaker(handleWhen(isRecoverableError), {
      halfOpenAfter: 50,
      breaker: new ConsecutiveBreaker(1),
    });
    const connections = connect([etcd.host], {
      auth: { username: 'u', password: 'p' },
      faultHandling: { host: () => breaker, global: undefined },
    });
    await connections.exec('KV', 'range', range, deadline());
    expect(etcd.tokensIssued).toEqual(['t1']);
    // One unavailable answer opens the circuit; 50 ms later the next call is its half-open trial.
    etcd.unavailable = true;
    await expect(connections.exec('KV', 'range', range, deadline())).rejects.toThrow(/unavailable/);
    etcd.unavailable = false;
    etcd.forgetTokens();
    await new Promise((resolve) => setTimeout(resolve, 80));
    // The trial meets the stale token. Renewing it from inside the trial would wait forever.
    const answer = await connections.exec<{ header: { revision: string } }>('KV', 'range', range, deadline());
    expect(answer.header.revision).toBe(String(etcd.revision));
    expect(etcd.tokensIssued).toEqual(['t1', 't2']);
    await connections.exec('KV', 'range', range, deadline());
    expect(etcd.tokensIssued).toHaveLength(2);
  });

  it('renews the token after a stream reports it stale (markFailed)', async () => {
    const etcd = await started();
    const connections = connect([etcd.host], { auth: { username: 'u', password: 'p' } });
    await connections.exec('KV', 'range', range, deadline());
    etcd.forgetTokens();
    connections.markFailed(
      connections.members[0],
      Object.assign(new Error('16 UNAUTHENTICATED: etcdserver: invalid auth token'), { code: 16 }),
    );
    await connections.exec('KV', 'range', range, deadline());
    expect(etcd.tokensIssued).toEqual(['t1', 't2']);
  });

  it('tries a member that left a call unanswered last for a while; a past deadline blames no member', async () => {
    const frozen = await started();
    const live = await started();
    frozen.silent = true;
    const connections = connect([frozen.host, live.host]);
    const shortDeadline = () => ({ deadline: Date.now() + 300 });
    // Until a call lands on the frozen member first: it waits out the deadline there, and the retry on
    // the live one (same deadline, already past) fails at once.
    await waitFor('a call to reach the frozen member', async () => {
      await connections.exec('KV', 'range', range, shortDeadline()).catch(() => undefined);
      return frozen.ranges > 0;
    });
    expect(connections.members.map((member) => member.unanswered)).toEqual([true, false]);
    // The retries of that call may have gone there too, past their deadline: let them arrive.
    await new Promise((resolve) => setTimeout(resolve, 200));
    const reached = frozen.ranges;
    // Picked at random, half of these would go to the frozen member first and fail.
    for (let call = 0; call < 20; call += 1) await connections.exec('KV', 'range', range, shortDeadline());
    expect(frozen.ranges).toBe(reached);
  });

  it('a keepalive left unanswered marks its member, and the next one goes out on a new stream elsewhere', async () => {
    const frozen = await started();
    const live = await started();
    frozen.silent = true;
    const connections = connect([frozen.host, live.host]);
    const keepAlives = new LeaseKeepAlives(connections);
    closers.push(() => keepAlives.close());
    // The live member found unanswering first (by another call, long ago): the stream opens on the frozen one.
    connections.markUnanswered(connections.members[1]);
    await expect(keepAlives.keepAlive('1', 300)).rejects.toThrow(/no keepalive answer/);
    expect(frozen.keepalives).toBe(1);
    // Both marked now; the one marked first (the live one) is tried first.
    expect(connections.members.map((member) => member.unanswered)).toEqual([true, true]);
    const liveStreams = live.keepaliveStreams;
    for (let attempt = 0; attempt < 20; attempt += 1) expect(await keepAlives.keepAlive('1', 300)).toBe(5);
    expect(frozen.keepalives).toBe(1);
    // All 20 on one new stream, on the live member.
    expect(live.keepaliveStreams).toBe(liveStreams + 1);
  });

  it('holds one connection per member through its failures and restarts, whatever service is called', async () => {
    let etcd = await started();
    const connections = connect([etcd.host]);
    for (const service of ['KV', 'Lease', 'Watch', 'Auth'] as const)
      expect(connections.members[0].client(service)).toBeDefined();
    await connections.exec('KV', 'range', range, deadline());
    for (let restart = 0; restart < 5; restart += 1) {
      etcd.stop();
      // Calls while it is down fail (etcd3's pool closed and re-made its channels on each of these).
      for (let call = 0; call < 10; call += 1)
        await connections.exec('KV', 'range', range, deadline()).catch(() => undefined);
      etcd = await started(new StandInEtcd(etcd.port));
      // The channel reconnects on its own backoff (at most 200 ms here): until then calls fail fast.
      await waitFor('a call to succeed again', () =>
        connections.exec('KV', 'range', range, deadline()).then(
          () => true,
          () => false,
        ),
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(establishedConnections(process.pid, [etcd.port]).get(etcd.port)).toBe(1);
  });

  it('tells onConnected listeners when a member is ready again after an outage, with no call meanwhile', async () => {
    const etcd = await started();
    const connections = connect([etcd.host]);
    let told = 0;
    connections.onConnected(() => (told += 1));
    await connections.exec('KV', 'range', range, deadline());
    await waitFor('the first connection to be told', () => told === 1);
    etcd.stop();
    await connections.exec('KV', 'range', range, deadline()).catch(() => undefined);
    await new Promise((resolve) => setTimeout(resolve, 300));
    await started(new StandInEtcd(etcd.port));
    // grpc-js dials the member again on its own backoff (at most 200 ms here).
    await waitFor('the reconnection to be told', () => told === 2);
  });

  it('holds a stalled member out of the next picks (never every member), so calls go to one that answers', async () => {
    const etcd = await started();
    // A member that accepts TCP connections and never answers, as a frozen etcd does.
    const frozen: NetServer = createServer(() => undefined);
    await new Promise<void>((resolve) => frozen.listen(0, '127.0.0.1', resolve));
    closers.push(() => frozen.close());
    const frozenHost = `127.0.0.1:${(frozen.address() as { port: number }).port}`;
    const policy = () =>
      circuitBreaker(handleWhen(isRecoverableError), { halfOpenAfter: 60_000, breaker: new ConsecutiveBreaker(1000) });
    // No retries: a call that went to the frozen member would fail.
    const connections = connect([frozenHost, etcd.host], { faultHandling: { host: policy, global: noop } });
    // A call sent to the frozen member (not left to the shuffle, which might never pick it) waits out
    // its deadline: its channel is left trying to connect.
    const [stalled, answering] = connections.members;
    const toFrozenOnly = (function* () {
      for (;;) yield stalled;
    })();
    await connections
      .withConnection(
        'KV',
        ({ client, metadata }) => unaryCall(client, 'range', range, metadata, { deadline: Date.now() + 300 }),
        toFrozenOnly,
      )
      .catch(() => undefined);
    expect([stalled.stalled, answering.stalled]).toEqual([true, false]);
    connections.isolateStalled(60_000);
    // Each of 10 calls would go to the frozen member half of the time if it were not held out.
    for (let call = 0; call < 10; call += 1)
      await connections.exec('KV', 'range', range, { deadline: Date.now() + 300 });
    // With only stalled members nothing is held out: a pick must remain.
    const alone = connect([frozenHost], { faultHandling: { host: policy, global: noop } });
    await alone.exec('KV', 'range', range, { deadline: Date.now() + 300 }).catch(() => undefined);
    alone.isolateStalled(60_000);
    await expect(alone.exec('KV', 'range', range, { deadline: Date.now() + 300 })).rejects.toThrow(
      /deadline|Deadline/i,
    );
  });
});
