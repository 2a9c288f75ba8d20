import type { EtcdGateway, KeyChange, PrefixList, WatchHandle } from '../etcd/etcd-gateway.js';
import { Deferred } from '../util/deferred.js';
import { cancellableSleep } from '../util/sleep.js';

/** How long a list waits for its watch's creation: a list read after it needs no second one. */
export const WATCH_BEFORE_LIST_MS = 1000;

/** What a watch from now on tells its `PrefixWatch`; none of it once the watch is replaced (`current` false). */
export interface FromNowHandlers {
  /** The watch's newest: an older one may still deliver until its cancel is through. */
  current(): boolean;
  /** The prefix listed again, at or after the watch's start: the truth, before any change held meanwhile. */
  listedAgain(listed: PrefixList): void;
  /** Changes, in order: those after the list(s), and some at or below them, to be dropped. */
  changes(changes: readonly KeyChange[]): void;
  /** Compacted past its revision or etcd lost its data (`error`), or the list again failed: list and watch anew. */
  broken(error: Error | undefined): void;
}

/**
 * A watch of a prefix from now on, started before its owner lists the prefix — not one from the
 * list's revision + 1: etcd grpc-proxy serves every watch of a prefix from now on with one watch on
 * etcd, but a watch from a revision of its own with a watch of its own, which it never merges with
 * another once 5 apps have joined it (1,000 apps' watches were some 280 watches on etcd, and a change
 * reached those apps later than bare etcd3 ones). The owner lists once the watch is created (or after
 * WATCH_BEFORE_LIST_MS; a batch of many services' first lists, before), and says at which revision
 * (`listed`): the changes held until then are passed on. Only a watch created after the list's
 * revision (a list read before it, or on a member behind) needs the prefix listed again.
 */
export class FromNowWatch {
  readonly handle: WatchHandle;
  /** Resolves once etcd has created the watch. */
  readonly created = new Deferred<void>();
  private since: number | undefined;
  private listedAt: number | undefined;
  private held: (readonly KeyChange[])[] | undefined = [];
  private patience: { done: Promise<void>; cancel: () => void } | undefined;

  constructor(
    private readonly gateway: EtcdGateway,
    private readonly prefix: string,
    private readonly handlers: FromNowHandlers,
  ) {
    this.handle = gateway.watchPrefix(prefix, 0, {
      created: (since) => {
        this.since = since;
        this.created.resolve();
        this.settle();
      },
      changes: (changes) => {
        if (!handlers.current()) return;
        if (this.held) this.held.push(changes);
        else handlers.changes(changes);
      },
      broken: (error) => {
        if (handlers.current()) handlers.broken(error);
      },
    });
  }

  /** Resolves once etcd has created the watch, or after WATCH_BEFORE_LIST_MS (its timer ended by `stopWaiting`). */
  async createdOrLater(): Promise<void> {
    this.patience = cancellableSleep(WATCH_BEFORE_LIST_MS);
    await Promise.race([this.created.promise, this.patience.done]);
    this.patience.cancel();
  }

  stopWaiting(): void {
    this.patience?.cancel();
  }

  /** The owner listed the prefix at `revision` (and told its listener). */
  listed(revision: number): void {
    this.listedAt = revision;
    this.settle();
  }

  private settle(): void {
    if (this.since === undefined || this.listedAt === undefined || !this.held || !this.handlers.current()) return;
    if (this.since <= this.listedAt) this.release();
    else void this.listAgain(this.since);
  }

  private async listAgain(since: number): Promise<void> {
    this.listedAt = undefined; // settled here
    try {
      const listed = await listSince(this.gateway, this.prefix, since);
      if (!this.handlers.current()) return;
      this.handlers.listedAgain(listed);
      this.release();
    } catch {
      if (this.handlers.current()) this.handlers.broken(undefined);
    }
  }

  private release(): void {
    const held = this.held ?? [];
    this.held = undefined;
    for (const changes of held) this.handlers.changes(changes);
  }
}

/** `prefix` listed at `revision` or later: serializable (any member), from the leader when that member is behind. */
export async function listSince(gateway: EtcdGateway, prefix: string, revision: number): Promise<PrefixList> {
  const listed = await gateway.list(prefix);
  return listed.revision < revision ? gateway.list(prefix, 'linearizable') : listed;
}
