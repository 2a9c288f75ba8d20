import type { EtcdGateway } from '../etcd/etcd-gateway.js';

/** Keepalive attempts within a round start at least this far apart, the spacing doubling up to a second. */
const MIN_ATTEMPT_SPACING_MS = 100;
const MAX_ATTEMPT_SPACING_MS = 1000;
/**
 * How much longer than TTL/3 an answer may take: `etcd grpc-proxy` answers a keepalive at its own
 * next renewal of the lease (every TTL/3, checked every 500 ms): answers up to TTL/3 + 500 ms late are
 * normal there (measured with TTL 3: 0.5–1.5 s), and the rest is a margin for a busy machine. (A member
 * etcd answers from directly is left much sooner, see `EtcdMember.answerWaitMs`.)
 */
const PROXY_ANSWER_SLACK_MS = 1000;

/**
 * One granted lease and its keepalives, as etcd's Go client sends them: the next one TTL/3 after the
 * last answer, with the TTL that answer carried (all on the app's one keepalive stream, see
 * `LeaseKeepAlives`). It reports itself lost — once — when etcd answers that the lease is gone, or
 * when no keepalive has succeeded for a whole TTL, after which etcd has deleted (or is about to
 * delete) the keys. The registry decides what to do then.
 *
 * Written on the gateway rather than on etcd3's `Lease` object, which retries every 100 ms during an
 * outage, reports loss only after 2×TTL, and cannot be revived after `lost`.
 */
export class LeaseSession {
  private timer: NodeJS.Timeout | undefined;
  private lastSuccess = Date.now();
  private state: 'alive' | 'lost' | 'stopped' = 'alive';

  constructor(
    private readonly gateway: EtcdGateway,
    readonly leaseId: string,
    private readonly ttlSeconds: number,
    private readonly callTimeoutMs: number,
    private readonly onKeepaliveFailed: () => void,
    private readonly onLost: (session: LeaseSession, reason: string) => void,
  ) {
    this.scheduleNext(ttlSeconds);
  }

  get alive(): boolean {
    return this.state === 'alive';
  }

  /** Declares the lease lost (also used when a put reports it gone) and stops the keepalives. */
  markLost(reason: string): void {
    if (this.state !== 'alive') return;
    this.stop();
    this.state = 'lost';
    this.onLost(this, reason);
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.state === 'alive') this.state = 'stopped';
  }

  /** Stops the keepalives and revokes the lease, which deletes every key attached to it at once. */
  async revoke(): Promise<void> {
    this.stop();
    await this.gateway.revokeLease(this.leaseId);
  }

  private scheduleNext(ttlSeconds: number): void {
    if (this.state !== 'alive') return;
    this.timer = setTimeout(() => void this.keepAlive(), (ttlSeconds * 1000) / 3);
  }

  /**
   * One keepalive, retried until it is answered or no keepalive has succeeded for a whole TTL. A
   * member that is frozen or cut off swallows a keepalive: the attempt ends when its answer is
   * overdue, and the next goes on a new stream, to another member (`LeaseKeepAlives`, which tries
   * the member that did not answer last for a while). Attempts start at least 100 ms apart, the
   * spacing doubling up to a second: a refused connection fails in a millisecond, and retried at once
   * an outage would keep a core busy. The round goes on for as long as it takes (a round that gave
   * up early left the lease a whole TTL without a keepalive: with a TTL of 5 s and a frozen member,
   * it expired); the next is scheduled from its answer.
   */
  private async keepAlive(): Promise<void> {
    const longestWaitMs = Math.min(this.callTimeoutMs, (this.ttlSeconds * 1000) / 3 + PROXY_ANSWER_SLACK_MS);
    let spacingMs = MIN_ATTEMPT_SPACING_MS;
    while (this.state === 'alive') {
      const attemptStarted = Date.now();
      try {
        const ttl = await this.gateway.keepAlive(this.leaseId, longestWaitMs);
        if (this.state !== 'alive') return;
        if (ttl <= 0) return this.markLost('etcd reports the lease expired or revoked');
        this.lastSuccess = Date.now();
        return this.scheduleNext(Math.min(ttl, this.ttlSeconds));
      } catch (error) {
        if (this.state !== 'alive') return;
        this.onKeepaliveFailed();
        const silentMs = Date.now() - this.lastSuccess;
        if (silentMs >= this.ttlSeconds * 1000) {
          return this.markLost(
            `no keepalive succeeded for ${Math.round(silentMs / 1000)} s (${(error as Error).message})`,
          );
        }
      }
      const waitMs = spacingMs - (Date.now() - attemptStarted);
      spacingMs = Math.min(MAX_ATTEMPT_SPACING_MS, spacingMs * 2);
      if (waitMs > 0) await new Promise((resolve) => setTimeout(resolve, waitMs));
    }
  }
}
