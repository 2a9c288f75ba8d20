import { isCompacted } from '../etcd/etcd-errors.js';
import type { EtcdGateway, KeyChange, PrefixList, WatchHandle } from '../etcd/etcd-gateway.js';
import type { BackoffOptions } from '../options/backoff-options.interface.js';
import type { RelistReason } from './relist-reason.js';
import { RetryLoop } from '../util/retry-loop.js';
import { missedChanges, PeriodicChecks } from './periodic-check.js';
import { FromNowWatch } from './watch-from-now.js';
import { Deferred } from '../util/deferred.js';

export interface PrefixWatchSettings {
  resyncIntervalMs: number;
  backoff: Required<BackoffOptions>;
  etcdHosts: readonly string[]; // for log lines: which etcd could not be reached
  /** Told of every list after the first, and why it was made (metrics). */
  onRelist?: (reason: RelistReason) => void;
  /** The app's periodic checks, shared by its watches; without, this watch has its own. */
  checks?: PeriodicChecks;
}

export interface PrefixWatchListener {
  /** After the first list and every re-list: everything under the prefix, the truth whatever came before. */
  listed(entries: ReadonlyMap<string, string>, revision: number): void;
  /**
   * After a watch response: the keys it changed, each with its new value (its last, if the response
   * changed it twice), or undefined when deleted. Never anything applied before.
   */
  changed(changes: ReadonlyMap<string, string | undefined>, revision: number): void;
  /** A failed list attempt: once per backoff step. */
  listFailed(error: Error, nextAttemptMs: number): void;
}

/**
 * Follows one key prefix by list-then-watch, telling its listener what is there (after a list) and
 * what changed (after each watch response), correct where the etcd3 client alone is not:
 * - a watch from now on, and a list read after its creation (or again after it): nothing is lost, and
 *   grpc-proxy serves every app's watch of the prefix with one watch on etcd (see `FromNowWatch`);
 * - a watch resumed after a disconnect or on another member starts after the last change it
 *   delivered (see `EtcdWatcher`): nothing to list again; every event at or below the revision
 *   already applied is dropped all the same, so that nothing is ever applied twice;
 * - when etcd cancels the watch (its revision was compacted) or says it lost its data (a wiped etcd
 *   restarts its revisions lower than ours), the prefix is listed again and watched anew;
 * - lists are serializable; one older than what was applied is read again from the leader;
 * - a periodic check is a last safety net: etcd counts the prefix at the revision applied (from its
 *   index, no value read); a list repairs any difference (see `PeriodicChecks`).
 * While etcd is unreachable the listener hears nothing, so what it holds stays. Listeners never see an
 * exception from here, and one from a listener never reaches the gRPC stream (etcd3 would rethrow it).
 */
export class PrefixWatch {
  /** The revision applied so far: of the last list, or of the last change since. */
  private revision = 0;
  /** How many keys the prefix holds at `revision`, as this watch knows it. */
  private keyCount = 0;
  private watch: WatchHandle | undefined;
  /** The watch the next list is read after (kept while no list succeeded), and the first one's creation. */
  private starting: FromNowWatch | undefined;
  readonly watchCreated = new Deferred<void>(); // a batch of first lists waits for it (see `ServiceWatches`)
  private generation = 0;
  /** A list is wanted: at start, after a cancelled watch, and when a periodic check finds a difference. */
  private listWanted = false;
  /** Why the next list is made (the last reason asked for); undefined before the first list. */
  private relistReason: RelistReason | undefined;
  private readonly loop: RetryLoop;
  private stopped = false;
  /** Takes this watch's check out of the periodic rounds (`ownChecks`: rounds of its own, without the app's). */
  private readonly stopChecking: () => void;
  private ownChecks: PeriodicChecks | undefined;
  private readonly stopRetryingOnConnect: () => void;

  constructor(
    private readonly gateway: EtcdGateway,
    private readonly prefix: string,
    private readonly settings: PrefixWatchSettings,
    private readonly listener: PrefixWatchListener,
    /** The first list when it is read in a batch with others; undefined or failed: listed here. */
    private firstList?: Promise<PrefixList | undefined>,
  ) {
    this.loop = new RetryLoop(settings.backoff, {
      hasWork: () => this.listWanted,
      attempt: () => this.listAndWatch(),
      failed: (error, _attempt, delayMs) => {
        this.safely(() => this.listener.listFailed(error as Error, delayMs));
        return 'back-off';
      },
    });
    const checks = settings.checks ?? (this.ownChecks = new PeriodicChecks(settings.resyncIntervalMs));
    this.stopChecking = checks.add((deep) => this.check(deep));
    this.stopRetryingOnConnect = gateway.onConnected(() => this.loop.retryNow());
    this.listWanted = true;
    this.loop.kick();
  }

  /** Lists the prefix again and re-watches from there; asked for during a list, it runs once more after it. */
  resync(reason: RelistReason = 'resync'): void {
    if (this.relistReason !== undefined) this.relistReason = reason; // before the first list, it is not a re-list
    this.listWanted = true;
    this.loop.kick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.starting?.stopWaiting();
    this.stopRetryingOnConnect();
    this.stopChecking();
    this.ownChecks?.stop();
    await this.loop.close();
    const watch = this.watch;
    this.watch = undefined;
    this.generation += 1;
    await watch?.cancel();
  }

  private async listAndWatch(): Promise<void> {
    this.listWanted = false;
    // What this list is for; a re-list asked for while it runs says why it is wanted again.
    const reason = this.relistReason;
    if (reason !== undefined) this.relistReason = 'resync';
    try {
      // The watch first, from now on (see `FromNowWatch`); kept for the next attempt if this one fails.
      const watch = (this.starting ??= this.watchFromNow());
      const batched = await this.firstList?.catch(() => undefined); // its owner chose when to read it
      this.firstList = undefined;
      if (!batched) await watch.createdOrLater();
      let listed = batched ?? (await this.gateway.list(this.prefix));
      // Older than what was applied: a member behind answered, or etcd lost its data. The leader says which.
      if (listed.revision < this.revision) listed = await this.gateway.list(this.prefix, 'linearizable');
      if (this.stopped) return;
      if (reason !== undefined) this.settings.onRelist?.(listed.revision < this.revision ? 'lost_data' : reason);
      else this.relistReason = 'resync'; // the first list: every later one is a re-list
      // Lower than before when etcd's data were wiped: the list is the truth all the same.
      this.starting = undefined;
      this.take(listed);
      watch.listed(listed.revision);
    } catch (error) {
      this.listWanted = true;
      // tried again, for the same reason
      if (reason !== undefined && this.relistReason === 'resync') this.relistReason = reason;
      throw error;
    }
  }

  /** The periodic check (see `missedChanges`); a deep one lists anyway. */
  private async check(deep: boolean): Promise<void> {
    if (this.relistReason === undefined || this.listWanted || this.watch === undefined) return; // a list is due anyway
    const { revision, generation } = this;
    const unchanged = () => !this.stopped && this.revision === revision && this.generation === generation;
    if (deep || (await missedChanges(this.gateway, this.prefix, revision, this.keyCount, unchanged)))
      this.resync('resync');
  }

  /** A new watch from now on, replacing the last: a change comes to this app with every other app's. */
  private watchFromNow(): FromNowWatch {
    const previous = this.watch;
    const generation = ++this.generation;
    const watch = new FromNowWatch(this.gateway, this.prefix, {
      current: () => generation === this.generation && !this.stopped,
      listedAgain: (listed) => this.take(listed),
      changes: (changes) => this.safely(() => this.apply(changes)),
      broken: (error) => {
        this.starting = undefined;
        this.resync(error === undefined ? 'resync' : isCompacted(error) ? 'compaction' : 'lost_data');
      },
    });
    this.watch = watch.handle;
    void watch.created.promise.then(() => this.watchCreated.resolve());
    if (previous) void previous.cancel();
    return watch;
  }

  /** A list: the truth, whatever came before. */
  private take(listed: PrefixList): void {
    this.revision = listed.revision;
    this.keyCount = listed.entries.size;
    this.safely(() => this.listener.listed(listed.entries, listed.revision));
  }

  private apply(changes: readonly KeyChange[]): void {
    const appliedUpTo = this.revision;
    let changed: Map<string, string | undefined> | undefined;
    for (const change of changes) {
      // A resumed watch replays what we already have; the changes of one transaction share a revision.
      if (change.revision <= appliedUpTo) continue;
      (changed ??= new Map()).set(change.key, change.type === 'put' ? change.value : undefined);
      if (change.type === 'delete') this.keyCount -= 1;
      else if (change.created === true) this.keyCount += 1;
      if (change.revision > this.revision) this.revision = change.revision;
    }
    if (changed) {
      const applied = changed;
      this.safely(() => this.listener.changed(applied, this.revision));
    }
  }

  private safely(action: () => void): void {
    try {
      action();
    } catch {
      // A listener's bug must not end the watch, and must never reach etcd3's stream handler.
    }
  }
}
