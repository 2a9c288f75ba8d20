import type { LoggerService } from '@nestjs/common';
import type { Etcd3 } from 'etcd3';
import { ReplaySubject, Subject, type Observable } from 'rxjs';
import { decodeEndpoint } from '../codec/endpoint-codec.js';
import { servicePrefix } from '../codec/endpoint-key.js';
import type { ServiceEndpoint } from '../service-endpoint.interface.js';
import { informativeError } from '../etcd/circuit-breaker.js';
import { isRefusal } from '../etcd/refusal.js';
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
    client: Etcd3,
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
    this.watch = new PrefixWatch(client, servicePrefix(namespace, service), settings, {
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

  private update(entries: ReadonlyMap<string, string>, revision: number): void {
    const next = new Map<string, ServiceEndpoint>();
    for (const [key, value] of entries) {
      const decoded = decodeEndpoint(this.namespace, key, value);
      if (decoded.ok) {
        next.set(key, decoded.endpoint);
        this.unreadable.delete(key);
      } else if (this.unreadable.get(key) !== value) {
        this.unreadable.set(key, value);
        this.logger.warn(`Skipping ${key}: ${decoded.reason} (value: ${preview(value)})`);
      }
    }
    const prefix = servicePrefix(this.namespace, this.service);
    for (const key of this.unreadable.keys()) if (key.startsWith(prefix) && !entries.has(key)) this.unreadable.delete(key);

    const changes = diff(this.byKey, next, revision);
    this.byKey = next;
    if (this.loaded && changes.length === 0) return;
    this.list = [...next.values()].sort(byIdThenAddress);
    // The first list is where changes start from, not a change: it is what endpoints$ gives first.
    if (this.loaded) for (const change of changes) this.changes.next(change);
    this.lists.next(this.list);
    this.lastListError = undefined;
    if (!this.loaded) {
      this.loaded = true;
      this.firstList.resolve();
    }
  }
}

function diff(
  before: ReadonlyMap<string, ServiceEndpoint>,
  after: ReadonlyMap<string, ServiceEndpoint>,
  revision: number,
): EndpointChange[] {
  const changes: EndpointChange[] = [];
  for (const [key, endpoint] of after) {
    const previous = before.get(key);
    if (!previous) changes.push({ type: 'added', endpoint, revision });
    else if (JSON.stringify(previous) !== JSON.stringify(endpoint)) changes.push({ type: 'updated', endpoint, previous, revision });
  }
  for (const [key, endpoint] of before) {
    if (!after.has(key)) changes.push({ type: 'removed', endpoint, revision });
  }
  return changes;
}

function byIdThenAddress(a: ServiceEndpoint, b: ServiceEndpoint): number {
  return a.id < b.id ? -1 : a.id > b.id ? 1 : a.address < b.address ? -1 : a.address > b.address ? 1 : 0;
}

/** Enough of a bad value to recognise it in a log line, never a flood. */
function preview(value: string): string {
  return JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value);
}
