import { BehaviorSubject, filter, type Observable } from 'rxjs';
import { messages } from '../discovery.messages.js';
import { DiscoveryClosedError } from '../errors.js';
import type { EtcdGateway } from '../etcd/etcd-gateway.js';
import type { ServiceEndpoint } from '../service-endpoint.interface.js';
import { Deferred } from '../util/deferred.js';
import type { Catalog, CatalogService, PatternKind } from './catalog.interface.js';
import { endpointChange, type EndpointChange } from '../watch/endpoint-change.interface.js';
import { PatternIndex } from './pattern-index.js';
import { PrefixWatch, type PrefixWatchSettings } from '../watch/prefix-watch.js';
import { withChanges } from '../watch/sorted-endpoints.js';
import type { TolerantDecoder } from '../watch/tolerant-decoder.js';

/** One service's part of the catalog, kept up to date change by change. */
class ServiceEntry {
  list: readonly ServiceEndpoint[] = [];
  /** How many endpoints publish each pattern / event. */
  readonly patternCounts = new Map<string, number>();
  readonly eventCounts = new Map<string, number>();
  /** A pattern or event started or stopped being handled: the sorted lists are made again. */
  namesChanged = true;
  snapshot: CatalogService | undefined;

  constructor(readonly service: string) {}

  count(endpoint: ServiceEndpoint, delta: 1 | -1): void {
    this.namesChanged = countAll(this.patternCounts, endpoint.patterns, delta) || this.namesChanged;
    this.namesChanged = countAll(this.eventCounts, endpoint.events, delta) || this.namesChanged;
  }

  /** The service as the catalog shows it: made again only after a change. */
  build(): CatalogService {
    const previous = this.snapshot;
    const names = this.namesChanged || previous === undefined;
    const patterns = names ? [...this.patternCounts.keys()].sort() : previous.patterns;
    const events = names ? [...this.eventCounts.keys()].sort() : previous.events;
    this.namesChanged = false;
    const everywhere = (counts: Map<string, number>) =>
      [...counts.values()].every((count) => count === this.list.length);
    const consistent = everywhere(this.patternCounts) && everywhere(this.eventCounts);
    this.snapshot = { service: this.service, endpoints: this.list, patterns, events, consistent };
    return this.snapshot;
  }
}

/**
 * The catalog (`DiscoveryClient.catalog$()`): one PrefixWatch on the whole namespace, every value
 * decoded once, grouped by service. A change costs what it changed: only the services it touched are
 * made again, the others are the same objects as in the emission before; which services handle a
 * pattern is counted per instance (PatternIndex).
 */
export class CatalogWatch {
  /**
   * Every key and the endpoint it decodes to (undefined when unreadable). Unlike a service's watch, the
   * raw values are not kept — at a namespace's size they would double the memory — so a value written
   * again unchanged is decoded, and found the same.
   */
  private readonly known = new Map<string, ServiceEndpoint | undefined>();
  private readonly entries = new Map<string, ServiceEntry>();
  private readonly index = new PatternIndex();
  private readonly catalog = new BehaviorSubject<Catalog | undefined>(undefined);
  private readonly watch: PrefixWatch;
  private readonly firstList = new Deferred<void>();
  private services: readonly CatalogService[] = [];

  /** The catalog once listed, then one emission per change. */
  readonly catalog$: Observable<Catalog> = this.catalog.pipe(
    filter((catalog): catalog is Catalog => catalog !== undefined),
  );

  constructor(
    gateway: EtcdGateway,
    namespace: string,
    settings: PrefixWatchSettings,
    /** Shared with the client's service watches: a value is warned about once, whoever reads it first. */
    private readonly decoder: TolerantDecoder,
    onListFailed: (error: Error, nextAttemptMs: number) => void,
  ) {
    this.firstList.promise.catch(() => undefined);
    this.watch = new PrefixWatch(gateway, `${namespace}/`, settings, {
      listed: (entries, revision) => {
        const changes = new Map<string, string | undefined>(entries);
        for (const key of this.known.keys()) if (!entries.has(key)) changes.set(key, undefined);
        this.apply(changes, revision);
      },
      changed: (changes, revision) => this.apply(changes, revision),
      listFailed: onListFailed,
    });
  }

  /** Resolves once the namespace has been listed. */
  get ready(): Promise<void> {
    return this.firstList.promise;
  }

  /** The services as last emitted; [] until listed. */
  get current(): readonly CatalogService[] {
    return this.services;
  }

  get isLoaded(): boolean {
    return this.catalog.value !== undefined;
  }

  /** The services with an endpoint that publishes `pattern` (in Nest's normalised form), sorted. */
  servicesFor(pattern: string, kind: PatternKind): readonly string[] {
    return this.index.servicesFor(pattern, kind);
  }

  async stop(): Promise<void> {
    await this.watch.stop();
    this.catalog.complete();
    this.firstList.reject(new DiscoveryClosedError(messages.discoveryClosed()));
  }

  private apply(changes: ReadonlyMap<string, string | undefined>, revision: number): void {
    const removed = new Map<ServiceEntry, ServiceEndpoint[]>();
    const added = new Map<ServiceEntry, ServiceEndpoint[]>();
    const events: EndpointChange[] = [];
    for (const [key, value] of changes) {
      const previous = this.known.get(key);
      const endpoint = this.decoder.next(key, value, previous);
      if (value === undefined) this.known.delete(key);
      else this.known.set(key, endpoint);
      if (endpoint === previous) continue;
      if (previous) {
        const entry = this.entries.get(previous.service)!;
        entry.count(previous, -1);
        this.index.remove(previous);
        push(removed, entry, previous);
      }
      if (endpoint) {
        const entry = this.entryFor(endpoint.service);
        entry.count(endpoint, 1);
        this.index.add(endpoint);
        push(added, entry, endpoint);
      }
      events.push(endpointChange(previous, endpoint, revision));
    }
    const loaded = this.catalog.value !== undefined;
    if (loaded && events.length === 0) return;
    this.publish(new Set([...removed.keys(), ...added.keys()]), removed, added, loaded ? events : []);
    this.firstList.resolve();
  }

  /** A new catalog: the touched services made again, the others as they were. */
  private publish(
    touched: ReadonlySet<ServiceEntry>,
    removed: ReadonlyMap<ServiceEntry, ServiceEndpoint[]>,
    added: ReadonlyMap<ServiceEntry, ServiceEndpoint[]>,
    changes: readonly EndpointChange[],
  ): void {
    let namesChanged = false;
    for (const entry of touched) {
      entry.list = withChanges(entry.list, removed.get(entry) ?? [], added.get(entry) ?? []);
      if (entry.list.length > 0) {
        namesChanged ||= entry.snapshot === undefined;
        entry.build();
      } else {
        this.entries.delete(entry.service);
        namesChanged = true;
      }
    }
    if (namesChanged) {
      this.services = [...this.entries.values()]
        .sort((a, b) => (a.service < b.service ? -1 : 1))
        .map((entry) => entry.snapshot!);
    } else {
      this.services = this.services.map((service) => this.entries.get(service.service)!.snapshot!);
    }
    this.catalog.next({ services: this.services, changes });
  }

  private entryFor(service: string): ServiceEntry {
    let entry = this.entries.get(service);
    if (entry === undefined) this.entries.set(service, (entry = new ServiceEntry(service)));
    return entry;
  }
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [value]);
  else list.push(value);
}

/** Counts `names` in or out; true when one of them started or stopped being counted. */
function countAll(counts: Map<string, number>, names: readonly string[] | undefined, delta: 1 | -1): boolean {
  if (names === undefined) return false;
  let changed = false;
  for (const name of names) {
    const count = (counts.get(name) ?? 0) + delta;
    if (count > 0) counts.set(name, count);
    else counts.delete(name);
    changed ||= count === 0 || (count === 1 && delta > 0);
  }
  return changed;
}
