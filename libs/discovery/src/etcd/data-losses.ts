import type { EtcdConnections } from './etcd-connections.js';
import type { EtcdWatcher, WatchedRange } from './etcd-watcher.js';
import type { ResponseHeader } from './stream-codecs.js';
import { unaryCall } from './unary-call.js';

/**
 * etcd's history now as its leader has it: the header of a linearizable count of `range` (a range the
 * app watches, so that its role may read it), from any member. A member answers a watch at the
 * revision it has applied, which under load is behind the leader's by many writes; the leader's
 * answer tells such a member from one that lost its data. Undefined when no member answers in time.
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

/**
 * What a `WatchStream` finds of etcd losing its data: warned of once per loss (the owners of the
 * other watches are told too, and list again: no warning each); and a watch created below the
 * revision seen (`SeenHistory.belowSeen`) — a member behind in applying, or one that lost its data —
 * judged by the leader's history (`leaderHistory`). Meanwhile the watch runs: what a member behind
 * sends again is dropped by its owner as applied. One question at a time: a member behind answers
 * every create of a batch below.
 */
export class DataLosses {
  /** The `SeenHistory` epoch whose loss was last warned of. */
  private warnedEpoch = 0;
  private askingLeader = false;

  constructor(
    private readonly connections: EtcdConnections,
    private readonly settings: { attachTimeoutMs: number; warn(message: string): void },
  ) {}

  /** A loss found (`reason`): every watch lists its prefix again. */
  found(reason: string): void {
    if (this.connections.history.epoch === this.warnedEpoch) return;
    this.warnedEpoch = this.connections.history.epoch;
    this.settings.warn(`${reason}: every watch lists its prefix again`);
  }

  /** `watcher` was created below the `expected` revision seen; if etcd lost its data, `breakStale` ends the rest. */
  async belowSeen(watcher: EtcdWatcher, expected: number, breakStale: (reason: string) => void): Promise<void> {
    if (this.askingLeader) return;
    this.askingLeader = true;
    const { history } = this.connections;
    const epoch = history.epoch;
    const leader = await leaderHistory(this.connections, watcher.range, this.settings.attachTimeoutMs);
    this.askingLeader = false;
    // No answer: taken as a member behind; the periodic check is the safety net.
    if (leader === undefined || leader.revision >= expected || history.epoch !== epoch) return;
    history.confirmedLoss(leader);
    const reason = `etcd is at revision ${leader.revision}, below ${expected}: its data were lost`;
    breakStale(reason);
    this.found(reason);
  }
}
