import { Injectable, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import {
  auditTime,
  distinctUntilChanged,
  interval,
  map,
  merge,
  Observable,
  startWith,
  Subject,
  type Subscription,
} from 'rxjs';
import type { CatalogService } from '../catalog/catalog.interface.js';
import { CallAttempts } from '../calls/call-attempts.js';
import { ServicePicks } from '../picking/service-picks.js';
import { ServiceRegistry } from '../registration/service-registry.js';
import { TrafficPolicies } from '../policy/traffic-policies.js';
import { callHealth } from './call-health.js';
import { dashboardPolicy } from './dashboard-policy.js';
import { CatalogWatches } from '../catalog/catalog-watches.js';
import type { ServiceEndpoint } from '../service-endpoint.interface.js';
import { instanceKey } from '../codec/instance-key.js';
import type {
  DashboardChange,
  DashboardInstance,
  DashboardService,
  DashboardSnapshot,
} from './dashboard-snapshot.interface.js';
import { timelineChange } from './timeline-change.js';

const TIMELINE_LENGTH = 100;
/** At most this often a live page gets a new snapshot: a burst of changes is one update. */
const UPDATE_EVERY_MS = 250;
/** How often the call counts are looked at for a change worth an update. */
const CALLS_EVERY_MS = 1000;
/** And at least this often a live page gets a snapshot: the last minute moves on, ejections run out. */
const REFRESH_EVERY_MS = 10_000;

/**
 * What the dashboard shows, made from the catalog (one watch of the namespace, kept while the app
 * runs), this app's call counts, and the changes it saw since it started.
 */
@Injectable()
export class DashboardState implements OnModuleInit, OnApplicationShutdown {
  private services: readonly CatalogService[] = [];
  private readonly timeline: DashboardChange[] = [];
  private readonly changed = new Subject<void>();
  private subscription: Subscription | undefined;
  private stopPolicies: () => void = () => undefined;

  constructor(
    private readonly catalog: CatalogWatches,
    private readonly attempts: CallAttempts,
    private readonly picks: ServicePicks,
    private readonly registry: ServiceRegistry,
    private readonly policies: TrafficPolicies,
  ) {
    attempts.keepLastMinute();
  }

  onModuleInit(): void {
    this.policies.start();
    this.stopPolicies = this.policies.read.add(() => this.changed.next());
    this.subscription = this.catalog.catalog$().subscribe(({ services, changes }) => {
      this.services = services;
      const at = Date.now();
      for (const change of changes) this.timeline.unshift(timelineChange(change, at));
      this.timeline.length = Math.min(this.timeline.length, TIMELINE_LENGTH);
      this.changed.next();
    });
  }

  onApplicationShutdown(): void {
    this.stopPolicies();
    this.subscription?.unsubscribe();
    this.changed.complete();
  }

  /**
   * A snapshot now, then one after each change of the catalog or of the call counts (at most every 250 ms),
   * and every 10 s.
   */
  updates$(): Observable<DashboardSnapshot> {
    const refreshEvery = REFRESH_EVERY_MS / CALLS_EVERY_MS;
    const callsChanged = interval(CALLS_EVERY_MS).pipe(
      map((tick) => `${this.attempts.countsView.changes} ${Math.floor((tick + 1) / refreshEvery)}`),
      distinctUntilChanged(),
    );
    return merge(this.changed, callsChanged).pipe(
      auditTime(UPDATE_EVERY_MS),
      startWith(undefined),
      map(() => this.snapshot()),
    );
  }

  /**
   * The dashboard's data now. An instance's patterns are sent as what it lacks of its service's, so
   * that a consistent fleet's snapshot does not repeat every pattern once per instance. Endpoints
   * that left etcd but are held by this app's self-preservation are listed too, marked `held`.
   */
  snapshot(): DashboardSnapshot {
    const held = this.picks.heldEndpoints();
    const services = this.services.map((service) => {
      const heldHere = held.get(service.service) ?? [];
      held.delete(service.service);
      return this.describeService(
        service.service,
        service.consistent,
        service.patterns,
        service.events,
        service.endpoints,
        heldHere,
      );
    });
    for (const [service, endpoints] of held) {
      const patterns = [...new Set(endpoints.flatMap((endpoint) => endpoint.patterns ?? []))].sort();
      const events = [...new Set(endpoints.flatMap((endpoint) => endpoint.events ?? []))].sort();
      services.push(this.describeService(service, true, patterns, events, [], endpoints));
    }
    const registrations = this.registry
      .registrations()
      .map(({ service, id, endpoint, state }) => ({ service, id, address: endpoint.address, state }));
    return { namespace: this.catalog.namespace, at: Date.now(), services, registrations, timeline: [...this.timeline] };
  }

  private describeService(
    service: string,
    consistent: boolean,
    patterns: readonly string[],
    events: readonly string[],
    listed: readonly ServiceEndpoint[],
    held: readonly ServiceEndpoint[],
  ): DashboardService {
    const listedKeys = new Set(held.length === 0 ? [] : listed.map(instanceKey));
    const heldOnly = held.filter((endpoint) => !listedKeys.has(instanceKey(endpoint)));
    const endpoints = [...listed, ...heldOnly];
    const describe = (endpoint: ServiceEndpoint): DashboardInstance => {
      const instance: DashboardInstance = {
        id: endpoint.id,
        address: endpoint.address,
        status: endpoint.status ?? 'up',
        weight: endpoint.weight,
      };
      if (endpoint.zone !== undefined) instance.zone = endpoint.zone;
      if (endpoint.version !== undefined) instance.version = endpoint.version;
      if (endpoint.registeredAt !== undefined) instance.registeredAt = endpoint.registeredAt;
      if (!consistent) {
        const lacks = { patterns: missing(patterns, endpoint.patterns), events: missing(events, endpoint.events) };
        if (lacks.patterns.length + lacks.events.length > 0) instance.lacks = lacks;
      }
      const counts = this.attempts.countsView.of(endpoint);
      if (counts !== undefined) instance.calls = callHealth(counts);
      const ejectedUntil = this.picks.ejectedUntil(endpoint);
      if (ejectedUntil !== undefined) instance.ejectedUntil = ejectedUntil;
      return instance;
    };
    const instances = listed.map(describe);
    for (const endpoint of heldOnly) instances.push({ ...describe(endpoint), held: true });
    const policy = dashboardPolicy(this.policies, service, Date.now());
    for (const instance of instances)
      if (policy?.drained.some(({ id }) => id === instance.id) === true) instance.drained = true;
    return {
      service,
      consistent,
      patterns: counted(patterns, endpoints, (endpoint) => endpoint.patterns),
      events: counted(events, endpoints, (endpoint) => endpoint.events),
      instances,
      ...(policy === undefined ? {} : { policy }),
    };
  }
}

/** The names of `all` not in `own` (both sorted). */
function missing(all: readonly string[], own: readonly string[] | undefined): string[] {
  if (own === undefined || own.length === 0) return [...all];
  const have = new Set(own);
  return all.filter((name) => !have.has(name));
}

/** Each name with the number of endpoints that have it. */
function counted(
  names: readonly string[],
  endpoints: readonly ServiceEndpoint[],
  of: (endpoint: ServiceEndpoint) => readonly string[] | undefined,
): { pattern: string; instances: number }[] {
  const counts = new Map(names.map((name) => [name, 0]));
  for (const endpoint of endpoints)
    for (const name of of(endpoint) ?? []) counts.set(name, (counts.get(name) ?? 0) + 1);
  return names.map((pattern) => ({ pattern, instances: counts.get(pattern)! }));
}
