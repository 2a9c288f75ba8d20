/** The part of a response header that tells where etcd's history is. */
export interface HistoryHeader {
  revision: string;
  raft_term?: string;
}

/**
 * How far the app has seen etcd's history go — the highest revision and raft term any watch response
 * carried — to tell a member that lost its data (a wiped data dir: revisions start over at 1, and so
 * does the raft term) from one that merely resumes. Both only ever grow in a cluster; a member with
 * a leader (every stream requires one) is at its leader's term. A member a little behind in
 * applying can also answer with a lower revision: that costs a list, never a skipped change.
 */
export class SeenHistory {
  private revision = 0;
  private term = 0;

  saw(header: HistoryHeader): void {
    this.revision = Math.max(this.revision, Number(header.revision));
    this.term = Math.max(this.term, Number(header.raft_term ?? 0));
  }

  /**
   * Why a member's answer to a watch that resumes from `nextRevision` says that etcd lost its data,
   * or undefined if it does not: a revision below one seen (or below where the watch resumes), or a
   * raft term below one seen (`etcd grpc-proxy` gives none). A loss found makes etcd's new history
   * the one seen: the watches started after their owners listed again are judged against it.
   */
  lostData(header: HistoryHeader, nextRevision: number): string | undefined {
    const revision = Number(header.revision);
    const term = Number(header.raft_term ?? 0);
    const expected = Math.max(this.revision, nextRevision - 1);
    let lost: string | undefined;
    if (revision < expected) lost = `etcd is at revision ${revision}, below ${expected}: its data were lost`;
    else if (term > 0 && term < this.term) lost = `etcd's raft term went back from ${this.term} to ${term}: its data were lost`;
    if (lost !== undefined) {
      this.revision = revision;
      this.term = term;
    }
    return lost;
  }
}
