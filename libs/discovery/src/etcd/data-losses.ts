import type { EtcdConnections } from './etcd-connections.js';
import type { EtcdWatcher, WatchedRange } from './etcd-watcher.js';
import type { ResponseHeader } from './stream-codecs.js';
import { unaryCall } from './unary-call.js';

/**
 * etcd's history now as its leader has it: the header of a linearizable count of `range` (a range the
 * app watches, so that its role may read it), from any member. A member answers a watch at the
 * revision it has applied, which under load is behind the leader's by many writes; the leader's
 * answer tells such a member from one that lost its data. Undefined when none answers in time, or
 * the request fails.
 */
export async function leaderHistory(
  connections: EtcdConnections,
  range: WatchedRange,
  timeoutMs: number,
): Promise<ResponseHeader | undefined> {
  const { key, rangeEnd } = range;
  const request = { key, ...(rangeEnd ? { range_end: rangeEnd } : {}), count_only: true, limit: 1 };
  try {
    const answer = await connections.withConnection(
      'KV',
      ({ client, metadata }) =>
        unaryCall<{ header: { revision: string; raft_term: string } }>(client, 'range', request, metadata, {
          deadline: Date.now() + timeoutMs,
        }),
      undefined,
      true,
    );
    return { revision: Number(answer.header.revision), raft_term: Number(answer.header.raft_term) };
  } catch {
    return undefined;
  }
}

/** A watch created below the revision seen: by which member's answer, and the revision expected. */
interface BelowSeen {
  watcher: EtcdWatcher;
  header: ResponseHeader;
  expected: number;
}

/** The leader is asked this many times, 1 s apart; unanswered, a revision below the one seen counts as a loss. */
const LEADER_ASKS = 3;

/**
 * What a `WatchStream` finds of etcd losing its data: warned of once per loss (the owners of the
 * other watches are told too, and list again: no warning each); and a watch created below the
 * revision seen (`SeenHistory.belowSeen`) — a member behind in applying, or one that lost its data —
 * judged by the leader's history (`leaderHistory`). Meanwhile the watch runs: what a member behind
 * sends again is dropped by its owner as applied. One question at a time (a member behind answers
 * every create of a batch below), asked again for what came meanwhile; a leader that does not
 * answer is asked again, and past LEADER_ASKS the revision counts as a loss, as it did before there
 * was a question: the cost of a mistake is a list, of a loss missed, changes never seen.
 */
export class DataLosses {
  /** The `SeenHistory` epoch whose loss was last warned of. */
  private warnedEpoch = 0;
  private asking = false;
  /** The highest revision expected of a member below it, not yet put to the leader. */
  private next: BelowSeen | undefined;

  constructor(
    private readonly connections: EtcdConnections,
    private readonly settings: { attachTimeoutMs: number; warn(message: string): void },
    /** Ends the watches of the stream open now that started in a history found lost. */
    private readonly breakStale: (reason: string) => void,
    private readonly closed: () => boolean,
  ) {}

  /** A loss found (`reason`): every watch lists its prefix again. */
  found(reason: string): void {
    if (this.connections.history.epoch === this.warnedEpoch) return;
    this.warnedEpoch = this.connections.history.epoch;
    this.settings.warn(`${reason}: every watch lists its prefix again`);
  }

  /** `watcher` was created at `header`'s revision, below the `expected` one seen. */
  async belowSeen(watcher: EtcdWatcher, header: ResponseHeader, expected: number): Promise<void> {
    if (this.next === undefined || expected > this.next.expected) this.next = { watcher, header, expected };
    if (this.asking) return;
    this.asking = true;
    while (this.next !== undefined && !this.closed()) await this.askLeader(this.next);
    this.asking = false;
  }

  private async askLeader(below: BelowSeen): Promise<void> {
    this.next = undefined;
    const { history } = this.connections;
    const epoch = history.epoch;
    let leader: ResponseHeader | undefined;
    for (let ask = 1; ask <= LEADER_ASKS && leader === undefined && !this.closed(); ask += 1) {
      if (ask > 1) await new Promise((resolve) => setTimeout(resolve, 1000).unref());
      leader = await leaderHistory(this.connections, below.watcher.range, this.settings.attachTimeoutMs);
    }
    if (this.closed() || history.epoch !== epoch || (leader && leader.revision >= below.expected)) return;
    const now = leader ?? below.header;
    history.confirmedLoss(now);
    const asked = leader ? '' : ` (the leader did not answer ${LEADER_ASKS} times)`;
    const reason = `etcd is at revision ${now.revision}, below ${below.expected}${asked}: its data were lost`;
    this.breakStale(reason);
    this.found(reason);
  }
}
