import type { LoadBalancingStrategy } from '../balancing/load-balancing-strategy.js';
import { messages } from '../discovery.messages.js';
import { NoEndpointAvailableError } from '../errors.js';
import type { ServiceEndpoint } from '../service-endpoint.interface.js';
import { ServiceOutliers } from './outlier-ejection.js';
import { instanceKey } from '../codec/instance-key.js';
import type { OutlierEjectionSettings } from '../options/behaviour-settings.interface.js';
import type { ServicePolicy } from '../policy/service-policy.js';
import type { ServiceWatch } from '../watch/service-watch.js';
import { SlowStart } from './slow-start.js';
import { describeFilter, FilteredLists, type EndpointFilter } from './subset.js';

/**
 * Picks the endpoints of one service: from the `'up'` ones, less those its traffic policy drains and those ejected
 * for failing, within `where` if given, in this app's zone when it has any there — then the version whose turn it is
 * when the policy splits by version, and by the service's strategy within it.
 * Each of these views is computed once per list (or per ejection), so that a pick with nothing
 * ejected and no subset reads the list as it is and allocates nothing.
 */
export class ServicePicker {
  /** The one context every pick hands the strategy. */
  readonly context: { service: string; key: string | undefined; group: undefined };
  readonly outliers: ServiceOutliers;
  private readonly subsets = new FilteredLists();
  /**
   * This app's zone when zone preference is on, and the zone's view of each list it was asked for,
   * by list: the view of the plain list and those of subsets are kept side by side, so that picks
   * with and without `where` do not undo each other's work.
   */
  private readonly localZone: ((endpoint: ServiceEndpoint) => boolean) | undefined;
  private readonly zoneViews = new WeakMap<readonly ServiceEndpoint[], readonly ServiceEndpoint[]>();
  /** No zone to prefer: a pick without `where` may take the list as it is (see `ServicePicks.pick`). */
  readonly noZonePreference: boolean;
  private readonly slowStart: SlowStart | undefined;

  constructor(
    readonly service: string,
    /** The list it picks from. */
    readonly watch: ServiceWatch,
    readonly strategy: LoadBalancingStrategy,
    outlierEjection: OutlierEjectionSettings | false,
    zone: string | undefined,
    /** Endpoints joining after the first list warm up over this long (0: no slow start). */
    slowStartMs = 0,
    /** The service's traffic policy in this app (drains, weights, split). */
    readonly policy: ServicePolicy,
    /** Told of each ejection (metrics). */
    private readonly onEjected?: (endpoint: ServiceEndpoint) => void,
  ) {
    this.slowStart = slowStartMs > 0 ? new SlowStart(slowStartMs, watch.changes$) : undefined;
    // The shape of a split's group contexts too (service, key, group): strategies see one shape of context.
    this.context = { service, key: undefined, group: undefined };
    this.outliers = new ServiceOutliers(outlierEjection);
    this.localZone = zone === undefined ? undefined : (endpoint) => endpoint.zone === zone;
    this.noZonePreference = zone === undefined;
  }

  /** @throws NoEndpointAvailableError when there is none to pick. */
  pick(key: string | undefined): ServiceEndpoint {
    this.context.key = key;
    return this.strategyPick(this.candidates(undefined)) ?? this.fail(undefined);
  }

  /** A pick within the subset `where`. @throws NoEndpointAvailableError naming the subset. */
  pickWithin(key: string | undefined, where: EndpointFilter): ServiceEndpoint {
    this.context.key = key;
    return this.strategyPick(this.candidates(where)) ?? this.fail(where);
  }

  /** No endpoint is warming up (slow start off, or none joined lately). */
  get noneWarming(): boolean {
    return this.slowStart === undefined || this.slowStart.none;
  }

  /** The strategy's pick; one of an endpoint still warming up stands with its share, else the strategy picks again. */
  private strategyPick(all: readonly ServiceEndpoint[]): ServiceEndpoint | undefined {
    // A split by version: the group of the version whose turn it is, picked with that group's context.
    const split = this.policy.split;
    const candidates = split === undefined ? all : split.pick(all);
    const group = split?.chosen;
    if (group !== undefined) group.key = this.context.key;
    const context = group ?? this.context;
    const picked = this.strategy.pick(candidates, context);
    if (picked === undefined || this.noneWarming || this.slowStart!.accepts(picked)) return picked;
    return this.strategy.pick(candidates, context) ?? picked;
  }

  /**
   * The strategy's choice among the candidates not in `tried` (`id@address`), else among those ejected; undefined when
   * none is left.
   */
  pickAnother(
    tried: ReadonlySet<string>,
    key: string | undefined,
    where: EndpointFilter | undefined,
  ): ServiceEndpoint | undefined {
    const untried = (list: readonly ServiceEndpoint[]) => list.filter((endpoint) => !tried.has(instanceKey(endpoint)));
    const candidates = this.candidates(where);
    let pool: readonly ServiceEndpoint[] = untried(candidates);
    // A split by version: a retry or a hedge stays in the version of the attempts before it while one is left there,
    // so that retries and hedges do not move the shares (a v1 call goes to v2 only when no v1 instance is left).
    if (this.policy.split !== undefined) pool = sameVersion(pool, this.watch.pickable, tried);
    if (pool.length === 0)
      pool = untried(where === undefined ? this.notDrained : this.subsets.of(this.notDrained, where));
    return this.strategy.pick(pool, { service: this.service, key, retry: true }) ?? pool[0];
  }

  /** The `'up'` endpoints the traffic policy leaves (not drained, its weights). */
  private get notDrained(): readonly ServiceEndpoint[] {
    return this.policy.view(this.watch.pickable);
  }

  reportFailure(endpoint: ServiceEndpoint): void {
    if (this.outliers.reportFailure(endpoint, this.notDrained)) this.onEjected?.(endpoint);
  }

  /** How many of its `'up'` endpoints are not picked now (ejected, or holding out after a 503). */
  get ejectedCount(): number {
    const up = this.watch.pickable;
    return up.length - this.outliers.pickable(up).length;
  }

  /** Until when `endpoint` is not picked (ms since the epoch), while it is ejected or holding out. */
  ejectedUntil(endpoint: ServiceEndpoint): number | undefined {
    return this.outliers.ejectedUntil(endpoint);
  }

  reportSuccess(endpoint: ServiceEndpoint): void {
    this.outliers.reportSuccess(endpoint);
  }

  /** `endpoint` asked to be left alone for `ms` (see `ServiceOutliers.holdOut`). */
  holdOut(endpoint: ServiceEndpoint, ms: number): void {
    this.outliers.holdOut(endpoint, this.watch.pickable, ms);
  }

  private candidates(where: EndpointFilter | undefined): readonly ServiceEndpoint[] {
    let list = this.outliers.pickable(this.notDrained);
    if (where !== undefined) list = this.subsets.of(list, where);
    if (this.localZone === undefined) return list;
    let local = this.zoneViews.get(list);
    if (local === undefined) {
      local = list.filter(this.localZone);
      this.zoneViews.set(list, local);
    }
    return local.length > 0 ? local : list; // none pickable in this zone: every zone
  }

  private fail(where: EndpointFilter | undefined): never {
    const message =
      where === undefined
        ? messages.noEndpoint(this.service, this.watch.isLoaded)
        : messages.noEndpointInSubset(this.service, describeFilter(where), this.watch.current.length);
    throw new NoEndpointAvailableError(this.service, message);
  }
}

/**
 * The endpoints of `pool` of a version already tried, or `pool` when none is. The versions tried are read from every
 * endpoint up (`all`), not from the candidates: an instance ejected by the failure just seen is tried all the same.
 */
function sameVersion(
  pool: readonly ServiceEndpoint[],
  all: readonly ServiceEndpoint[],
  tried: ReadonlySet<string>,
): readonly ServiceEndpoint[] {
  const versions = new Set(all.filter((endpoint) => tried.has(instanceKey(endpoint))).map((e) => e.version));
  const same = pool.filter((endpoint) => versions.has(endpoint.version));
  return same.length > 0 ? same : pool;
}
