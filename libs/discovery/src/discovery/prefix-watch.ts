import type { Etcd3, IWatchResponse, Watcher } from 'etcd3';
import { cancelWatcher } from '../etcd/cancel-watcher.js';
import { withDeadline } from '../etcd/etcd-connection.js';
import type { RetryOptions } from '../options/discovery-module-options.interface.js';
import { backoffDelay } from '../util/backoff.js';
import { cancellableSleep } from '../util/sleep.js';

const SETTLE_RELIST_MS = 3000;

export interface PrefixWatchSettings {
  callTimeoutMs: number;
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
  private readonly entries = new Map<string, string>();
  private revision = 0;
  private watcher: Watcher | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = false;
  private backoff: { cancel: () => void } | undefined;
  private readonly timer: NodeJS.Timeout;
  private settleTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly client: Etcd3,
    private readonly prefix: string,
    private readonly settings: PrefixWatchSettings,
    private readonly listener: PrefixWatchListener,
  ) {
    this.timer = setInterval(() => this.resync(), settings.resyncIntervalMs);
    this.resync();
  }

  /** Lists the prefix again and re-watches from there; calls made meanwhile run once more after it. */
  resync(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.listAndWatch().finally(() => {
      this.running = undefined;
      if (this.again) {
        this.again = false;
        this.resync();
      }
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    clearTimeout(this.settleTimer);
    this.backoff?.cancel();
    await this.running;
    const watcher = this.watcher;
    this.watcher = undefined;
    if (watcher) await cancelWatcher(watcher);
  }

  private async listAndWatch(): Promise<void> {
    for (let attempt = 0; !this.stopped; attempt += 1) {
      try {
        const response = await this.client
          .getAll()
          .prefix(this.prefix)
          .options(withDeadline(this.settings.callTimeoutMs))
          .exec();
        if (this.stopped) return;
        this.entries.clear();
        for (const kv of response.kvs) this.entries.set(kv.key.toString(), kv.value.toString());
        // Lower than before when etcd's data were wiped: the list is the truth all the same.
        this.revision = Number(response.header.revision);
        this.watchFrom(this.revision + 1);
        this.notify();
        return;
      } catch (error) {
        if (this.stopped) return;
        const delayMs = backoffDelay(attempt, this.settings.retry.initialDelayMs, this.settings.retry.maxDelayMs);
        this.safely(() => this.listener.listFailed(error as Error, delayMs));
        const backoff = cancellableSleep(delayMs);
        this.backoff = backoff;
        await backoff.done;
      }
    }
  }

  private watchFrom(revision: number): void {
    const previous = this.watcher;
    // `watcher()` attaches synchronously: the listeners exist before anything can be emitted.
    const watcher = this.client.watch().prefix(this.prefix).startRevision(String(revision)).watcher();
    this.watcher = watcher;
    if (previous) void cancelWatcher(previous);
    let reconnecting = false;
    watcher.on('data', (response: IWatchResponse) => {
      if (watcher === this.watcher) this.safely(() => this.apply(response));
    });
    watcher.on('disconnected', () => {
      reconnecting = true;
    });
    watcher.on('connected', () => {
      if (reconnecting && watcher === this.watcher) {
        this.resync();
        // A reconnect often lands while the cluster is still settling (a member that is up before
        // its peers, keys being re-registered): one more look once it has settled.
        clearTimeout(this.settleTimer);
        this.settleTimer = setTimeout(() => this.resync(), SETTLE_RELIST_MS);
      }
      reconnecting = false;
    });
    // Cancelled by etcd (compaction) or failed: etcd3 drops the watcher; we re-list.
    watcher.on('error', () => {
      if (watcher === this.watcher) this.resync();
    });
  }

  private apply(response: IWatchResponse): void {
    const appliedUpTo = this.revision;
    const changed = new Set<string>();
    for (const event of response.events) {
      const revision = Number(event.kv.mod_revision);
      // A resumed watch replays what we already have; the events of one transaction share a revision.
      if (revision <= appliedUpTo) continue;
      const key = event.kv.key.toString();
      if (event.type === 'Put') this.entries.set(key, event.kv.value.toString());
      else this.entries.delete(key);
      this.revision = Math.max(this.revision, revision);
      changed.add(key);
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
