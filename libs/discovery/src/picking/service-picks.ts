import { Inject, Injectable } from '@nestjs/common';
import { StrategyResolver } from './strategy-resolver.js';
import { RESOLVED_DISCOVERY_OPTIONS } from '../discovery.constants.js';
import type { ResolvedDiscoveryOptions } from '../options/discovery-module-options.interface.js';
import type { ServiceEndpoint } from '../service-endpoint.interface.js';
import { Listeners } from '../util/listeners.js';
import { TrafficPolicies } from '../policy/traffic-policies.js';
import { ServiceWatches } from '../watch/service-watches.js';
import { ServicePicker } from './service-picker.js';
import type { EndpointFilter } from './subset.js';

/** How `pick()` chooses: the hash key of `ConsistentHashStrategy`, and a subset. */
export interface PickOptions {
  key?: string;
  where?: EndpointFilter;
}

/**
 * Picks for every service of the app (an internal provider: `DiscoveryClient.pick()`, calls and
 * routes by pattern use it), one `ServicePicker` per service picked from. A service picked from is
 * watched until shutdown, so its picker, with what it learnt of failing endpoints, lives as long.
 */
@Injectable()
export class ServicePicks {
  private readonly pickers = new Map<string, ServicePicker>();
  /** An endpoint of a service was ejected for failing calls: (service, address). */
  readonly ejected = new Listeners<[string, string]>();

  constructor(
    @Inject(RESOLVED_DISCOVERY_OPTIONS) private readonly options: ResolvedDiscoveryOptions,
    private readonly watches: ServiceWatches,
    private readonly strategies: StrategyResolver,
    private readonly policies: TrafficPolicies,
  ) {}

  /** How many endpoints of each service picked from are ejected now. */
  *ejectedCounts(): Iterable<[service: string, ejected: number]> {
    for (const picker of this.pickers.values()) yield [picker.service, picker.ejectedCount];
  }

  /**
   * One `'up'` endpoint of `service`, not ejected, by its strategy (see `DiscoveryClient.pick`).
   * @throws NoEndpointAvailableError when there is none to pick.
   */
  pick(service: string, options?: string | PickOptions): ServiceEndpoint {
    const picker = this.pickers.get(service) ?? this.pickerFor(service);
    if (typeof options !== 'object') {
      // The hot path, inline: every endpoint up, none ejected, no zone, no traffic policy on instances or versions —
      // the strategy gets the list as it is.
      const watch = picker.watch;
      if (picker.noZonePreference && watch.allUp && picker.outliers.none && picker.noneWarming && picker.policy.none) {
        picker.context.key = options;
        const endpoint = picker.strategy.pick(watch.current, picker.context);
        if (endpoint !== undefined) return endpoint;
      }
      return picker.pick(options);
    }
    // No destructuring of options: a pick allocates nothing.
    return options.where === undefined ? picker.pick(options.key) : picker.pickWithin(options.key, options.where);
  }

  /**
   * One `'up'` endpoint of `service` other than those in `tried` (instance keys, `id@address`): the
   * strategy's choice among those not ejected, else among the ejected; undefined when all were tried.
   */
  pickAnother(
    service: string,
    tried: ReadonlySet<string>,
    key: string | undefined,
    where: EndpointFilter | undefined,
  ): ServiceEndpoint | undefined {
    return (this.pickers.get(service) ?? this.pickerFor(service)).pickAnother(tried, key, where);
  }

  /** A call to `endpoint` failed before any answer: counts toward ejecting it. */
  reportFailure(endpoint: ServiceEndpoint): void {
    this.watchedPicker(endpoint.service)?.reportFailure(endpoint);
  }

  /** A call to `endpoint` was answered: its count of failures starts over. */
  reportSuccess(endpoint: ServiceEndpoint): void {
    this.watchedPicker(endpoint.service)?.reportSuccess(endpoint);
  }

  /** `endpoint` asked its callers to come back in `ms` (an HTTP 503 with Retry-After): it is not picked until then. */
  holdOut(endpoint: ServiceEndpoint, ms: number): void {
    this.watchedPicker(endpoint.service)?.holdOut(endpoint, ms);
  }

  /**
   * Until when `endpoint` is not picked (ms since the epoch), while it is ejected or holding out; what the dashboard
   * shows.
   */
  ejectedUntil(endpoint: ServiceEndpoint): number | undefined {
    return this.pickers.get(endpoint.service)?.ejectedUntil(endpoint);
  }

  /** The endpoints gone from etcd that self-preservation keeps listed now, by service; what the dashboard shows. */
  heldEndpoints(): Map<string, ServiceEndpoint[]> {
    const held = new Map<string, ServiceEndpoint[]>();
    for (const watch of this.watches.running())
      if (watch.held.active) held.set(watch.service, [...watch.held.endpoints()]);
    return held;
  }

  /** The picker of a service that is watched (reports about a service never watched are dropped). */
  private watchedPicker(service: string): ServicePicker | undefined {
    return this.pickers.get(service) ?? (this.watches.get(service) === undefined ? undefined : this.pickerFor(service));
  }

  private pickerFor(service: string): ServicePicker {
    const { outlierEjection, zone, zonePreference, slowStartMs } = this.options;
    const watch = this.watches.pin(service);
    const onEjected = (endpoint: ServiceEndpoint) => this.ejected.tell(service, endpoint.address);
    const picker = new ServicePicker(
      service,
      watch,
      this.strategies.forService(service),
      outlierEjection,
      zonePreference ? zone : undefined,
      slowStartMs,
      this.policies.of(service),
      onEjected,
    );
    this.pickers.set(service, picker);
    return picker;
  }
}
