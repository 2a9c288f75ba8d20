import type { EtcdGateway, KeyChange, WatchHandle } from '../etcd/etcd-gateway.js';
import type { RetryOptions } from '../options/discovery-module-options.interface.js';
import { RetryLoop } from '../util/retry-loop.js';

const SETTLE_RELIST_MS = 3000;

export interface PrefixWatchSettings {
  resyncIntervalMs: number;
  retry: Required<RetryOptions>;
}

export interface PrefixWatchListener {
  /**
   * The full key → value map, after the initial list, after every watch response that changed it,
   * after every re-list. `changed` names the keys a watch response touched; it is undefined after a
   * list, when anything may have changed.
   */
  update(entries: ReadonlyMap<string, string>, revision: number, changed?: ReadonlySet<string>): void;
  /** A failed list attempt: once per backoff step. */
  listFailed(error: Error, nextAttemptMs: number): void;
}

/**
 * The current contents of one key prefix, kept by list-then-watch, and correct where the etcd3
 * client alone is not:
 * - list, then watch from the list's revision + 1, so that nothing between the two is lost;
 * - every event at or below the revision already applied is dropped, so that a watch resumed after a
 *   disconnect never applies a change twice;
 * - after every reconnect, and when etcd cancels the watch (compaction) or it fails, the prefix is
 *   listed again and watched anew from that list: etcd3's own resume can skip events, and a wiped
 *   etcd restarts revisions lower than ours — a fresh list is the truth in every case; after a
 *   reconnect it is listed once more a few seconds later, when the cluster has settled;
 * - a periodic re-list is a last safety net.
 * While etcd is unreachable the last contents stay as they are. Listeners never see an exception
 * from here, and an exception from a listener never reaches the gRPC stream (where etcd3 would
 * rethrow it and end the process).
 */
export class PrefixWatch {
  private entries = new Map<string, string>();
  private revision = 0;
  private watch: WatchHandle | undefined;
  private generation = 0;
  /** A list is wanted: at start, after a reconnect or a cancelled watch, and periodically. */
  private listWanted = false;
  private readonly loop: RetryLoop;
  private stopped = false;
  private readonly timer: NodeJS.Timeout;
  private settleTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly gateway: EtcdGateway,
    private readonly prefix: string,
    settings: PrefixWatchSettings,
    private readonly listener: PrefixWatchListener,
  ) {
    this.loop = new RetryLoop(settings.retry, {
      hasWork: () => this.listWanted,
      attempt: () => this.listAndWatch(),
      failed: (error, _attempt, delayMs) => {
        this.safely(() => this.listener.listFailed(error as Error, delayMs));
        return 'back-off';
      },
    });
    this.timer = setInterval(() => this.resync(), settings.resyncIntervalMs);
    this.resync();
  }

  /** Lists the prefix again and re-watches from there; asked for during a list, it runs once more after it. */
  resync(): void {
    this.listWanted = true;
    this.loop.kick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    clearTimeout(this.settleTimer);
    await this.loop.close();
    const watch = this.watch;
    this.watch = undefined;
    this.generation += 1;
    await watch?.cancel();
  }

  private async listAndWatch(): Promise<void> {
    this.listWanted = false;
    try {
      const listed = await this.gateway.list(this.prefix);
      if (this.stopped) return;
      this.entries = listed.entries;
      // Lower than before when etcd's data were wiped: the list is the truth all the same.
      this.revision = listed.revision;
      this.watchFrom(this.revision + 1);
      this.notify();
    } catch (error) {
      this.listWanted = true;
      throw error;
    }
  }

  private watchFrom(revision: number): void {
    const previous = this.watch;
    // Only the newest watch speaks: a replaced one may still deliver until its cancel is through.
    const generation = ++this.generation;
    const current = () => generation === this.generation;
    this.watch = this.gateway.watchPrefix(this.prefix, revision, {
      changes: (changes) => {
        if (current()) this.safely(() => this.apply(changes));
      },
      resumed: () => {
        if (!current()) return;
        this.resync();
        // A reconnect often lands while the cluster is still settling (a member that is up before
        // its peers, keys being re-registered): one more look once it has settled.
        clearTimeout(this.settleTimer);
        this.settleTimer = setTimeout(() => this.resync(), SETTLE_RELIST_MS);
      },
      // Cancelled by etcd (compaction) or failed: re-list.
      broken: () => {
        if (current()) this.resync();
      },
    });
    if (previous) void previous.cancel();
  }

  private apply(changes: readonly KeyChange[]): void {
    const appliedUpTo = this.revision;
    const changed = new Set<string>();
    for (const change of changes) {
      // A resumed watch replays what we already have; the changes of one transaction share a revision.
      if (change.revision <= appliedUpTo) continue;
      if (change.type === 'put') this.entries.set(change.key, change.value);
      else this.entries.delete(change.key);
      this.revision = Math.max(this.revision, change.revision);
      changed.add(change.key);
    }
    if (changed.size > 0) this.notify(changed);
  }

  private notify(changed?: ReadonlySet<string>): void {
    this.safely(() => this.listener.update(this.entries, this.revision, changed));
  }

  private safely(action: () => void): void {
    try {
      action();
    } catch {
      // A listener's bug must not end the watch, and must never reach etcd3's stream handler.
    }
  }
}
