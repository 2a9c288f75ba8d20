import type { KeyChange, WatchHandle, WatchHandlers } from '../etcd/etcd-gateway.js';

interface MemoryWatch {
  matches(change: KeyChange): boolean;
  handlers: WatchHandlers;
  /** Changes at or after this revision are delivered. */
  from: number;
}

/**
 * The history of an in-memory etcd and the watches on it: every change with its revision, and what
 * each watch has not seen yet. Watch responses arrive asynchronously, as over a network, one per
 * delivery, and a watch that attaches where etcd is behind it is told it is broken (as the real
 * gateway tells it).
 */
export class MemoryWatches {
  private readonly history: KeyChange[] = [];
  private readonly watches = new Set<MemoryWatch>();
  revision = 0;

  constructor(private readonly log: string[]) {}

  /** Records `changes` (of the next revision) and delivers them, unless streams are down. */
  record(changes: KeyChange[], streamsDown: boolean): void {
    this.revision = changes[0].revision;
    this.history.push(...changes);
    if (!streamsDown) for (const watch of this.watches) this.deliver(watch);
  }

  /** A revision whose changes no watch will ever hear of (`InMemoryEtcd.lostTransaction`). */
  skip(): void {
    this.revision += 1;
  }

  /** From `fromRevision` on, or from now on (0: `handlers.created` is told the revision it starts after). */
  watch(
    name: string,
    matches: (change: KeyChange) => boolean,
    fromRevision: number,
    handlers: WatchHandlers,
  ): WatchHandle {
    const watch: MemoryWatch = { matches, handlers, from: fromRevision || this.revision + 1 };
    if (fromRevision === 0) {
      const since = this.revision;
      queueMicrotask(() => handlers.created?.(since));
    }
    this.watches.add(watch);
    this.attach(watch);
    return {
      cancel: async () => {
        if (this.watches.delete(watch)) this.log.push(`cancel watch ${name}`);
      },
    };
  }

  /** Streams back: every watch resumes where it left off, and gets what changed meanwhile. */
  resumeAll(): void {
    for (const watch of this.watches) this.attach(watch);
  }

  /** Sends every watch the history from `fromRevision` again, as a resumed stream replays it. */
  replay(fromRevision: number): void {
    for (const watch of this.watches) {
      const changes = this.history.filter((change) => change.revision >= fromRevision && watch.matches(change));
      if (changes.length > 0) queueMicrotask(() => watch.handlers.changes(changes));
    }
  }

  /** Ends every watch as etcd does on a compaction or a failure. */
  breakAll(reason: string): void {
    const broken = [...this.watches];
    this.watches.clear();
    for (const watch of broken) queueMicrotask(() => watch.handlers.broken(new Error(reason)));
  }

  /** No history, revisions start over (the watches stay, and see what comes). */
  clear(): void {
    this.history.length = 0;
    this.revision = 0;
  }

  private attach(watch: MemoryWatch): void {
    if (this.revision < watch.from - 1) {
      const behind = new Error(`etcd is at revision ${this.revision}, below ${watch.from - 1}: its data were lost`);
      queueMicrotask(() => watch.handlers.broken(behind));
      return;
    }
    this.deliver(watch);
  }

  /** Sends `watch` what it has not seen yet, as one response, after the current call returns. */
  private deliver(watch: MemoryWatch): void {
    const changes = this.history.filter((change) => change.revision >= watch.from && watch.matches(change));
    watch.from = this.revision + 1;
    if (changes.length === 0) return;
    queueMicrotask(() => {
      if (this.watches.has(watch)) watch.handlers.changes(changes);
    });
  }
}
