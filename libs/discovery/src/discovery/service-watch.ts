import type { LoggerService } from '@nestjs/common';
import { ReplaySubject, Subject, type Observable } from 'rxjs';
import { decodeEndpoint } from '../codec/endpoint-codec.js';
import { servicePrefix } from '../codec/endpoint-key.js';
import type { EtcdGateway } from '../etcd/etcd-gateway.js';
import type { ServiceEndpoint } from '../service-endpoint.interface.js';
import { informativeError, isRefusal } from '../etcd/etcd-errors.js';
import { Deferred } from '../util/deferred.js';
import type { EndpointChange } from './endpoint-change.interface.js';
import { PrefixWatch, type PrefixWatchSettings } from './prefix-watch.js';

/**
 * The live endpoint list of one service: a PrefixWatch on `<namespace>/<service>/`, decoded
 * tolerantly, diffed, and published once per change — one new list per etcd watch response, and
 * only when the list really changed.
 */
export class ServiceWatch {
  private byKey = new Map<string, ServiceEndpoint>();
  private list: readonly ServiceEndpoint[] = [];
  private readonly lists = new ReplaySubject<readonly ServiceEndpoint[]>(1);
  private readonly changes = new Subject<EndpointChange>();
  private readonly firstList = new Deferred<void>();
  private readonly watch: PrefixWatch;
  private loaded = false;
  /** Why the last list attempt failed, for error messages; undefined once a list succeeded. */
  lastListError: Error | undefined;

  /** The current list on subscribe (once it has been read), then every new list. */
  readonly endpoints$: Observable<readonly ServiceEndpoint[]> = this.lists.asObservable();
  /** What changed after the first list: added, removed, updated endpoints, with the revision. */
  readonly changes$: Observable<EndpointChange> = this.changes.asObservable();

  constructor(
    gateway: EtcdGateway,
    private readonly namespace: string,
    readonly service: string,
    settings: PrefixWatchSettings,
    private readonly logger: LoggerService,
    /**
     * Keys whose value could not be read, with that value: one warning per key and value. Owned by
     * the client, so that a watch stopped and started again does not warn again.
     */
    private readonly unreadable: Map<string, string>,
  ) {
    this.watch = new PrefixWatch(gateway, servicePrefix(namespace, service), settings, {
      update: (entries, revision) => this.update(entries, revision),
      listFailed: (error, nextAttemptMs) => {
        this.lastListError = informativeError(error, this.lastListError);
        this.logger.warn(`Listing "${service}" failed (${error.message}); next attempt in ${nextAttemptMs} ms`);
        // Refused credentials or permission: whoever waits for the first list learns it now.
        if (isRefusal(error)) this.firstList.reject(error);
      },
    });
  }

  /** The endpoints, sorted by id; empty until the first list. */
  get current(): readonly ServiceEndpoint[] {
    return this.list;
  }

  get isLoaded(): boolean {
    return this.loaded;
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
    await this.watch.stop();
    this.lists.complete();
    this.changes.complete();
    this.firstList.reject(new Error(`the watch on "${this.service}" stopped`));
  }

  /**
   * Decodes what changed — only the keys a watch response touched, or everything after a list — and
   * publishes the new list if any endpoint really changed.
   */
  private update(entries: ReadonlyMap<string, string>, revision: number, changedKeys?: ReadonlySet<string>): void {
    this.lastListError = undefined; // whatever happened before, etcd answered
    const keys = changedKeys ?? this.everyKnownKey(entries);
    const next = changedKeys ? new Map(this.byKey) : new Map<string, ServiceEndpoint>();
    const changes: EndpointChange[] = [];
    for (const key of keys) {
      const value = entries.get(key);
      const endpoint = value === undefined ? undefined : this.decode(key, value);
      const previous = this.byKey.get(key);
      if (endpoint) next.set(key, endpoint);
      else next.delete(key);
      if (value === undefined) this.unreadable.delete(key);
      if (endpoint && !previous) changes.push({ type: 'added', endpoint, revision });
      else if (!endpoint && previous) changes.push({ type: 'removed', endpoint: previous, revision });
      else if (endpoint && previous && JSON.stringify(previous) !== JSON.stringify(endpoint)) {
        changes.push({ type: 'updated', endpoint, previous, revision });
      }
    }
    this.byKey = next;
    if (this.loaded && changes.length === 0) return;
    this.list = [...next.values()].sort(byIdThenAddress);
    // The first list is where changes start from, not a change: it is what endpoints$ gives first.
    if (this.loaded) for (const change of changes) this.changes.next(change);
    this.lists.next(this.list);
    if (!this.loaded) {
      this.loaded = true;
      this.firstList.resolve();
    }
  }

  /** After a list: the listed keys, and every key known before (they may have gone meanwhile). */
  private everyKnownKey(entries: ReadonlyMap<string, string>): Set<string> {
    const prefix = servicePrefix(this.namespace, this.service);
    const unreadableHere = [...this.unreadable.keys()].filter((key) => key.startsWith(prefix));
    return new Set([...entries.keys(), ...this.byKey.keys(), ...unreadableHere]);
  }

  /** The endpoint a key/value describes; undefined (and one warning per key and value) when unreadable. */
  private decode(key: string, value: string): ServiceEndpoint | undefined {
    const decoded = decodeEndpoint(this.namespace, key, value);
    if (decoded.ok) {
      this.unreadable.delete(key);
      return decoded.endpoint;
    }
    if (this.unreadable.get(key) !== value) {
      this.unreadable.set(key, value);
      this.logger.warn(`Skipping ${key}: ${decoded.reason} (value: ${preview(value)})`);
    }
    return undefined;
  }
}

function byIdThenAddress(a: ServiceEndpoint, b: ServiceEndpoint): number {
  return a.id < b.id ? -1 : a.id > b.id ? 1 : a.address < b.address ? -1 : a.address > b.address ? 1 : 0;
}

/** Enough of a bad value to recognise it in a log line, never a flood. */
function preview(value: string): string {
  return JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value);
}
