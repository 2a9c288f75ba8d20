import type { LoggerService } from '@nestjs/common';
import { ReplaySubject, Subject, type Observable } from 'rxjs';
import { servicePrefix } from '../codec/endpoint-key.js';
import type { EtcdGateway, PrefixList } from '../etcd/etcd-gateway.js';
import { isUp, type ServiceEndpoint } from '../service-endpoint.interface.js';
import { informativeError, isRefusal } from '../etcd/etcd-errors.js';
import { describeEtcdFailure } from '../etcd/failure-words.js';
import { formatDuration } from '../util/format-duration.js';
import { Deferred } from '../util/deferred.js';
import type { EndpointChange } from './endpoint-change.interface.js';
import { HeldRemovals } from './held-removals.js';
import { KnownKeys } from './known-keys.js';
import type { SelfPreservationSettings } from '../options/behaviour-settings.interface.js';
import { PrefixWatch, type PrefixWatchSettings } from './prefix-watch.js';
import { withChanges } from './sorted-endpoints.js';
import type { TolerantDecoder } from './tolerant-decoder.js';

export interface ServiceWatchSettings extends PrefixWatchSettings {
  /**
   * Hold mass removals until confirmed (see HeldRemovals); off when absent. Told when a hold begins (`onHold`,
   * metrics).
   */
  selfPreservation?: SelfPreservationSettings | false;
  onHold?: (service: string) => void;
}

/**
 * The live endpoint list of one service: a PrefixWatch on `<namespace>/<service>/`, decoded
 * tolerantly, diffed, and published once per change — one new list per etcd watch response, and
 * only when the list really changed. The work a response causes is proportional to what it changed:
 * only the keys it touched are decoded (none whose value is unchanged), and the sorted list is
 * updated by those changes alone.
 */
export class ServiceWatch {
  private readonly keys: KnownKeys;
  private list: readonly ServiceEndpoint[] = [];
  private readonly lists = new ReplaySubject<readonly ServiceEndpoint[]>(1);
  private readonly changes = new Subject<EndpointChange>();
  private readonly firstList = new Deferred<void>();
  private readonly watch: PrefixWatch;
  readonly held: HeldRemovals; // self-preservation (`count`: endpoints held now)
  private loaded = false;
  /** The highest revision applied: a list below it comes from an etcd that lost its data. */
  private highestRevision = 0;
  /** The list the `'up'` endpoints were last filtered from (see `pickable`), and the result. */
  private upSource: readonly ServiceEndpoint[] | undefined;
  private upList: readonly ServiceEndpoint[] = [];
  /** Why the last list attempt failed, for error messages; undefined once etcd answered. */
  lastListError: Error | undefined;

  /** The current list on subscribe (once it has been read), then every new list. */
  readonly endpoints$: Observable<readonly ServiceEndpoint[]> = this.lists.asObservable();
  /** What changed after the first list: added, removed, updated endpoints, with the revision. */
  readonly changes$: Observable<EndpointChange> = this.changes.asObservable();

  constructor(
    gateway: EtcdGateway,
    namespace: string,
    readonly service: string,
    settings: ServiceWatchSettings,
    private readonly logger: LoggerService,
    /** Decodes values, warning once per unreadable key and value (shared by the client's watches). */
    decoder: TolerantDecoder,
    /** The first list, when read in a batch with other services'. */
    batchedList?: Promise<PrefixList | undefined>,
  ) {
    this.held = new HeldRemovals(settings.selfPreservation ?? false, service, logger, {
      relist: () => this.watch.resync(),
      believe: (gone) => this.removeHeld(gone),
      holdStarted: () => settings.onHold?.(service),
    });
    this.keys = new KnownKeys(decoder, this.held);
    this.watch = new PrefixWatch(
      gateway,
      servicePrefix(namespace, service),
      settings,
      {
        listed: (entries, revision) => this.applyList(entries, revision),
        changed: (changes, revision) => this.apply(changes, revision, false),
        listFailed: (error, nextAttemptMs) => {
          this.lastListError = informativeError(error, this.lastListError);
          const failure = describeEtcdFailure(this.lastListError, settings.etcdHosts);
          this.logger.warn(`Listing "${service}": ${failure}; retry in ${formatDuration(nextAttemptMs)}`);
          // Refused credentials or permission: whoever waits for the first list learns it now.
          if (isRefusal(error)) this.firstList.reject(error);
        },
      },
      batchedList,
    );
  }

  /**
   * The endpoints picks choose from: those `'up'`. The list itself while every endpoint is (nothing
   * to do per change), else filtered once per new list.
   */
  get pickable(): readonly ServiceEndpoint[] {
    if (this.keys.notUp === 0) return this.list;
    if (this.upSource !== this.list) {
      this.upList = this.list.filter(isUp);
      this.upSource = this.list;
    }
    return this.upList;
  }

  /** Every listed endpoint is `'up'`: `pickable` is the list itself. */
  get allUp(): boolean {
    return this.keys.notUp === 0;
  }

  /** The endpoints, sorted by id; empty until the first list. */
  get current(): readonly ServiceEndpoint[] {
    return this.list;
  }

  get isLoaded(): boolean {
    return this.loaded;
  }

  /** Resolves once etcd has created the service's watch: its first list is read after it. */
  get watchCreated(): Promise<void> {
    return this.watch.watchCreated.promise;
  }

  /** Resolves once the service has been listed (the list may be empty). */
  get ready(): Promise<void> {
    return this.firstList.promise;
  }

  /** Forces a re-list (tests, and operators who know better). */
  resync(): void {
    this.watch.resync();
  }

  async stop(): Promise<void> {
    this.held.stop();
    await this.watch.stop();
    this.lists.complete();
    this.changes.complete();
    this.firstList.reject(new Error(`the watch on "${this.service}" stopped`));
  }

  /** A list is the truth (see `KnownKeys.listChanges`). */
  private applyList(entries: ReadonlyMap<string, string>, revision: number): void {
    this.apply(this.keys.listChanges(entries), revision, true);
    this.held.listed();
  }

  /** Decodes what changed and publishes the new list, if any endpoint really changed. */
  private apply(changes: ReadonlyMap<string, string | undefined>, revision: number, fromList: boolean): void {
    this.lastListError = undefined; // whatever happened before, etcd answered
    const holding = this.loaded && this.holdsDeletions(changes, fromList);
    const lostData = fromList && revision < this.highestRevision;
    // A list is the new base: after a loss of data, etcd's revisions start over from it.
    if (fromList || revision > this.highestRevision) this.highestRevision = revision;
    const { removed, added, events } = this.keys.apply(changes, revision, holding, lostData);
    if (this.loaded && events.length === 0) return;
    this.list = withChanges(this.list, removed, added);
    // The first list is where changes start from, not a change: it is what endpoints$ gives first.
    if (this.loaded) for (const event of events) this.changes.next(event);
    this.lists.next(this.list);
    if (!this.loaded) {
      this.loaded = true;
      this.firstList.resolve();
    }
  }

  /** Whether the deletions of `'up'` endpoints in `changes` are held (see HeldRemovals). */
  private holdsDeletions(changes: ReadonlyMap<string, string | undefined>, fromList: boolean): boolean {
    if (!this.held.enabled) return false;
    return this.held.holds(this.keys.upDeletions(changes), this.list.length - this.keys.notUp, fromList);
  }

  /** Held endpoints that are gone for good (see HeldRemovals) leave the list now. */
  private removeHeld(gone: readonly ServiceEndpoint[]): void {
    if (gone.length === 0) return;
    this.list = withChanges(this.list, gone, []);
    const revision = this.highestRevision;
    for (const endpoint of gone) this.changes.next({ type: 'removed', endpoint, revision });
    this.lists.next(this.list);
  }
}
