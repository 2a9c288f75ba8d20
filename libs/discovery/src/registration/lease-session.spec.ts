import type { EtcdGateway } from '../etcd/etcd-gateway.js';
import { LeaseSession } from './lease-session.js';

const TTL_SECONDS = 5;

/**
 * A lease as etcd keeps it: it expires TTL after its last renewal, and a keepalive that comes later
 * is answered TTL 0. While `unanswered(now)` holds, keepalives get no answer (a frozen member): they
 * fail when the attempt's time is up.
 */
class LeaseAsEtcdKeepsIt {
  expiresAt = Date.now() + TTL_SECONDS * 1000;
  attempts = 0;
  readonly sentAt: number[] = [];
  /** The TTL etcd answers (a lease's remaining time can be less than granted, e.g. after a leader change). */
  answeredTtl = TTL_SECONDS;

  constructor(private readonly unanswered: (now: number) => boolean) {}

  keepAlive(_leaseId: string, timeoutMs: number): Promise<number> {
    this.attempts += 1;
    this.sentAt.push(Date.now());
    // As a real attempt does, it fails a little after its time is up (timers, the stream's cancel).
    if (this.unanswered(Date.now()))
      return new Promise((_resolve, reject) =>
        setTimeout(() => reject(new Error('no keepalive answer')), timeoutMs + 20),
      );
    if (Date.now() >= this.expiresAt) return Promise.resolve(0);
    this.expiresAt = Date.now() + TTL_SECONDS * 1000;
    return Promise.resolve(this.answeredTtl);
  }
}

function session(lease: LeaseAsEtcdKeepsIt, lost: string[]): LeaseSession {
  return new LeaseSession(
    lease as unknown as EtcdGateway,
    'lease-1',
    TTL_SECONDS,
    5000,
    () => undefined,
    (_session, reason) => lost.push(reason),
  );
}

beforeEach(() => vi.useFakeTimers({ now: 0 }));
afterEach(() => vi.useRealTimers());

describe('LeaseSession keepalives', () => {
  it('sends the next keepalive TTL/3 after the last answer, with the TTL that answer carried', async () => {
    const lease = new LeaseAsEtcdKeepsIt(() => false);
    const keeper = session(lease, []);
    await vi.advanceTimersByTimeAsync(5100);
    expect(lease.sentAt).toEqual([1667, 3334, 5001].map((at) => expect.closeTo(at, -1)));
    lease.answeredTtl = 3; // etcd says the lease has 3 s left: the next keepalive comes 1 s after that answer
    await vi.advanceTimersByTimeAsync(1700);
    expect(lease.sentAt.slice(3)).toEqual([6668].map((at) => expect.closeTo(at, -1)));
    await vi.advanceTimersByTimeAsync(1000);
    expect(lease.sentAt.slice(4)).toEqual([7668].map((at) => expect.closeTo(at, -1)));
    keeper.stop();
  });

  it('an unanswered round goes on past the next tick: lease renewed as soon as the member answers again', async () => {
    // Renewed at 1.67 s (etcd would expire it at 6.67 s); no answer from 3 s to 5.2 s. The keepalive
    // sent at 3.33 s waits for its answer until 6 s (TTL/3 + 1 s), the next is answered at once.
    // A round that gave up at a tick let it pass and tried next a whole TTL after the last renewal:
    // with a frozen member, 1 round in 27 ended so, and the lease expired.
    const lease = new LeaseAsEtcdKeepsIt((now) => now >= 3000 && now < 5200);
    const lost: string[] = [];
    const keeper = session(lease, lost);
    await vi.advanceTimersByTimeAsync(6500);
    // renewed after the member answered again, before the next tick
    expect(lease.expiresAt).toBeGreaterThan(5200 + TTL_SECONDS * 1000);
    await vi.advanceTimersByTimeAsync(6000);
    expect(lost).toEqual([]);
    expect(keeper.alive).toBe(true);
    keeper.stop();
  });

  it('reports the lease lost once no keepalive has been answered for a whole TTL, and stops trying', async () => {
    const lease = new LeaseAsEtcdKeepsIt((now) => now >= 3000);
    const lost: string[] = [];
    const keeper = session(lease, lost);
    // Last answered at 1.67 s: lost at the first failed attempt 5 s after that (attempts end every
    // 2.69 s here: sent at 3.33 s, then 6.02 s, which fails at 8.71 s).
    await vi.advanceTimersByTimeAsync(8600);
    expect(lost).toEqual([]);
    await vi.advanceTimersByTimeAsync(200);
    expect(lost).toHaveLength(1);
    expect(lost[0]).toMatch(/^no keepalive succeeded for 7 s \(no keepalive answer\)$/);
    expect(keeper.alive).toBe(false);
    const attempts = lease.attempts;
    await vi.advanceTimersByTimeAsync(10_000);
    expect(lease.attempts).toBe(attempts);
  });

  it('reports the lease lost when etcd answers that it no longer knows it', async () => {
    const lease = new LeaseAsEtcdKeepsIt(() => false);
    lease.expiresAt = 1000; // revoked from outside before the first keepalive
    const lost: string[] = [];
    const keeper = session(lease, lost);
    await vi.advanceTimersByTimeAsync(2000);
    expect(lost).toEqual(['etcd reports the lease expired or revoked']);
    expect(keeper.alive).toBe(false);
  });
});
