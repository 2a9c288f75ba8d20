import type { ResponseHeader } from './stream-codecs.js';

/** What `SeenHistory` judges a watch by: where it resumes, and in which history that revision was. */
export interface ResumingWatch {
  nextRevision: number;
  epoch: number;
}

/**
 * How far the app has seen etcd's history go — the highest revision and raft term any watch response
 * carried, or a unary answer — to tell a member that lost its data (a wiped or restored data dir: revisions start over,
 * and so does the raft term) from one that merely resumes. Both only ever grow in a cluster; a member
 * with a leader (every stream requires one) is at its leader's term. A cluster whose every member went
 * down and came back with its data has elected a new leader, at a higher term: one back at the term
 * seen, or below, lost its data (or it was the app that was cut off: then the cost is a list, never a
 * skipped change). A member behind in applying also answers with a lower revision: the leader then
 * says whether the data were lost (`belowSeen`). What it cannot tell: a young cluster (never
 * re-elected since it started, term 2) rebuilt empty whose election took more than one round, and
 * that was written past the revision the app saw before the app came back to it (or before its
 * leader answered the question of `belowSeen`).
 */
export class SeenHistory {
  /** Grows at each loss found: a watch whose revision is from an earlier history is past repair. */
  epoch = 0;
  private revision = 0;
  private term = 0;
  /** The highest term seen when no member could be reached, until a member with a term answers a watch. */
  private termBeforeOutage: number | undefined;
  /** The highest term seen when a watch stream first failed, until a member with a term answers a watch. */
  private termAtFailure: number | undefined;

  /** A watch answer: the stream works again. */
  saw(header: ResponseHeader): void {
    this.seen(header);
    if (header.raft_term > 0) this.termAtFailure = undefined;
  }

  /** A unary answer (etcd3's: 64-bit numbers as strings) counts too: an app's first watch may come after its lists. */
  sawAnswer(answer: unknown): void {
    const header = (answer as { header?: { revision?: string; raft_term?: string } } | undefined)?.header;
    if (header?.revision !== undefined)
      this.seen({ revision: Number(header.revision), raft_term: Number(header.raft_term ?? 0) });
  }

  private seen(header: ResponseHeader): void {
    this.revision = Math.max(this.revision, header.revision);
    this.term = Math.max(this.term, header.raft_term);
  }

  /**
   * A watch stream failed, or found no member to open on. The term seen now is the one before the
   * outage that may follow: the outage is found only once every member's connection is down, which
   * can be after a restarted member answered a keepalive at its new term (a closed connection goes
   * idle first, and is found down only at the next dial) — judged against that term, its own watch
   * answers looked like a cluster back at the term seen, and every watch listed again.
   */
  streamFailed(): void {
    this.termAtFailure ??= this.term;
  }

  /** The watch stream ended with no watch left: a failure before it has nothing to say of a later outage. */
  streamIdle(): void {
    this.termAtFailure = undefined;
  }

  /** No member could be reached: the next to answer may be a cluster rebuilt without its data. */
  outage(): void {
    this.termBeforeOutage ??= this.termAtFailure ?? this.term;
  }

  /**
   * Why a member's answer to the creation of `watch` says that etcd lost its data, or undefined if it
   * does not: a raft term below one seen, or not above it after an outage (`etcd grpc-proxy` gives
   * no term). A loss found makes etcd's new history the one seen: the watches started after their
   * owners listed again are judged against it. A revision below one seen says nothing sure by itself:
   * see `belowSeen`.
   */
  lostData(header: ResponseHeader, watch: ResumingWatch): string | undefined {
    const { raft_term: term } = header;
    let lost: string | undefined;
    if (watch.epoch < this.epoch) lost = 'etcd lost its data (found on another watch)';
    else if (term > 0 && term < this.term)
      lost = `etcd's raft term went back from ${this.term} to ${term}: its data were lost`;
    else if (term > 0 && term <= (this.termBeforeOutage ?? 0)) {
      lost =
        `etcd came back from an outage of every member at raft term ${term}, not above the one seen: ` +
        'its data were lost';
    }
    if (term > 0) this.termBeforeOutage = this.termAtFailure = undefined;
    if (lost !== undefined && watch.epoch === this.epoch) this.startOver(header);
    return lost;
  }

  /**
   * The revision `watch` expected of a member (the highest seen, or where it resumes) when the
   * member's answer is below it, else undefined. Such a member lost its data, or is behind in
   * applying: under load a follower is behind its leader by many writes, and judged lost then, every
   * watch of 1,000 apps listed again, over and over (fleet bench). The leader says which
   * (`DataLosses`, `leaderHistory`). `etcd grpc-proxy` answers a watch that joins one it already has
   * with a header it makes up — no term, and the watch's own start revision (grpcproxy's
   * watchBroadcast.add) — which says nothing of etcd's history.
   */
  belowSeen(header: ResponseHeader, watch: ResumingWatch): number | undefined {
    const { revision, raft_term: term } = header;
    if (term === 0 && revision === watch.nextRevision) return undefined; // made up by a proxy: see above
    const expected = Math.max(this.revision, watch.nextRevision - 1);
    return revision < expected ? expected : undefined;
  }

  /** The leader confirmed a loss (`belowSeen`): its history is the one seen from now on. */
  confirmedLoss(leader: ResponseHeader): void {
    this.startOver(leader);
  }

  private startOver(header: ResponseHeader): void {
    this.epoch += 1;
    this.revision = header.revision;
    this.term = header.raft_term;
  }
}
