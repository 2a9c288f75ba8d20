import type { OutlierEjectionSettings, SelfPreservationSettings } from './behaviour-settings.interface.js';
import type { DiscoveryCallsOptions, ResolvedCalls } from './calls-options.interface.js';
import type { BackoffOptions } from './backoff-options.interface.js';
import type { MetricsOptions } from './metrics-options.interface.js';
import type { Type } from '@nestjs/common';
import type { IOptions } from 'etcd3';
import type { LoadBalancingStrategy } from '../balancing/load-balancing-strategy.js';

/** A strategy instance, or a class that Nest instantiates (resolving its dependencies through DI). */
export type StrategyOption = LoadBalancingStrategy | Type<LoadBalancingStrategy>;

/** How the app behaves when etcd cannot be reached at start-up. */
export type RegistrationMode = 'fail-fast' | 'background';

/** Options of `DiscoveryModule.forRoot()` / `forRootAsync()`. */
export interface DiscoveryModuleOptions {
  /**
   * Options of the etcd3 client (`auth`, `credentials`, `grpcOptions`, `faultHandling`,
   * `defaultCallOptions`), passed through unchanged. `hosts` is an array of `host:port` /
   * `http(s)://host:port` (all `https://` or none), or a comma-separated string of them. The app
   * holds one connection per host, for its whole life.
   * @default { hosts: process.env.ETCD_HOSTS split on "," }
   */
  etcd?: Partial<IOptions>;
  /**
   * Key prefix under which services are stored: `<namespace>/<service>/<instance id>`.
   * @default '/services'
   */
  namespace?: string;
  /**
   * Lease TTL in seconds. An instance that dies disappears from etcd at most this long after
   * its last keepalive; keepalives are sent every `ttl / 3` seconds.
   * @default 10
   */
  ttl?: number;
  /**
   * `'fail-fast'`: the app fails to start with a clear error when etcd cannot be reached within
   * `connectTimeoutMs`. `'background'`: the app starts, and registration retries until etcd answers.
   * @default 'fail-fast'
   */
  registration?: RegistrationMode;
  /**
   * How long start-up waits for etcd in `'fail-fast'` mode, and the deadline of each etcd call the
   * registry makes.
   * @default 5000
   */
  connectTimeoutMs?: number;
  /**
   * At shutdown the registrations first turn `'draining'` (listed, no longer picked), then this long
   * passes while the servers still serve, then they are removed: callers that picked this instance
   * just before it left can still finish.
   * @default 0
   */
  drainMs?: number;
  /**
   * Backoff between registration attempts, and between re-list attempts of a watch, while etcd is
   * unreachable. The moment a connection to etcd is ready again, the next attempt is made at once.
   * @default { initialDelayMs: 200, maxDelayMs: 5000 }
   */
  backoff?: BackoffOptions;
  /** @deprecated Renamed `backoff` (the same settings); `retry` is read until the next minor version. */
  retry?: BackoffOptions;
  /**
   * The app's default load-balancing strategy, injectable as `LOAD_BALANCING_STRATEGY`.
   * @default new RoundRobinStrategy()
   */
  strategy?: StrategyOption;
  /**
   * Per-service strategies that override `strategy`, by service name.
   * @default {}
   */
  strategies?: Record<string, StrategyOption>;
  /**
   * Services this app calls. They are watched from bootstrap, so the first `pick()` after the app is
   * up sees the endpoints that exist (also `@Discoverable(name, { requires })`).
   * @default []
   */
  requires?: string[];
  /**
   * When > 0, bootstrap also waits up to this long for at least one endpoint of every required
   * service, and fails with a clear error if one has none. 0: start without waiting for endpoints.
   * @default 0
   */
  waitForRequiredMs?: number;
  /**
   * Every watched service is checked about this often (between half and one and a half of it, at
   * random), a safety net against gaps that no watch event reveals: etcd counts its keys (from its
   * index), a list repairs any difference, and every 12th check is a full list. Watches are also
   * re-listed after every reconnect and cancellation.
   * @default 300000
   */
  resyncIntervalMs?: number;
  /**
   * `false`: the library writes no log line at all (failures still reach you as exceptions, as
   * `ServiceRegistry.events$` and through the health indicator). Otherwise it logs through Nest's
   * `Logger`, so the app's log levels apply: `['error']` keeps only what needs acting on. @default true
   */
  logger?: boolean;
  /**
   * An endpoint whose calls fail `consecutiveFailures` times in a row before any answer (through
   * `DiscoveryClient.call()`, `DiscoveryClientsModule`, or `reportFailure()`) is not picked for
   * `baseEjectionMs` × the times it was ejected; at most `maxEjectedPercent` of a service at once,
   * never its last pickable endpoint. `false` turns it off.
   * @default { consecutiveFailures: 3, baseEjectionMs: 10000, maxEjectedPercent: 50 }
   */
  outlierEjection?: Partial<OutlierEjectionSettings> | false;
  /**
   * Status from a health check: every `intervalMs` (5000) `check()` runs; `false`, a throw, or no
   * answer within `intervalMs` is a failure. After `unhealthyThreshold` (2) failures in a row this
   * app's registrations turn `'down'` (listed, never picked), after `healthyThreshold` (1) good
   * checks `'up'` again; each change is a `status` event of `ServiceRegistry.events$`.
   */
  health?: HealthOptions;
  /**
   * This app's zone: the default `zone` of its registrations, and the zone its picks prefer — an
   * endpoint of another zone is picked only while this one has none to pick.
   */
  zone?: string;
  /** `false`: picks ignore `zone`. @default true */
  zonePreference?: boolean;
  /**
   * Self-preservation: a change that takes away more than half of a service's `'up'` endpoints at
   * once, or all of them, by deleting their keys (a re-list after etcd lost its data, lease expiries
   * after etcd paused) is held — the endpoints stay listed and picked — until a list read `confirmMs`
   * later confirms them gone, or they come back; never longer than `maxHoldMs`. After a list from an
   * etcd that lost its data (lower revision) only their return or `maxHoldMs` ends the hold. Instances
   * that turned `'draining'`/`'down'` first, as every instance of this library does at shutdown, are
   * removed at once. Each hold and its end are logged once. `false` turns it off.
   * @default { confirmMs: 3000, maxHoldMs: 30000 }
   */
  selfPreservation?: Partial<SelfPreservationSettings> | false;
  /**
   * Deadlines, hedged requests and the retry budget of every call through discovery — `call()`,
   * `fetch()`, `DiscoveryClientsModule` clients — and per service in `calls.services[name]`.
   * @default { timeoutMs: 10000, attemptTimeoutMs: 2000, hedge: { afterMs: 'adaptive' }, budget: { percent: 20,
   * minPerSecond: 10 } }
   */
  calls?: DiscoveryCallsOptions;
  /**
   * When > 0, an endpoint that joins a service gets a share of its calls that grows from a tenth to
   * its full share over this long (every strategy), so that a cold instance is not flooded at once.
   * @default 0
   */
  slowStartMs?: number;
  /**
   * The OpenTelemetry metrics (recorded when `@opentelemetry/api` is installed). `perInstance: true`
   * adds `server.address` to `discovery.call.attempts` and `discovery.ejections`: one series per
   * instance called, so only for fleets of a size a backend holds per instance.
   * @default { perInstance: false }
   */
  metrics?: MetricsOptions;
}

/** A health check that drives the status of this app's registrations (see `health`). */
export interface HealthOptions {
  check: () => boolean | Promise<boolean>;
  /** @default 5000 */
  intervalMs?: number;
  /** @default 2 */
  unhealthyThreshold?: number;
  /** @default 1 */
  healthyThreshold?: number;
}

/** The options with every default applied and every value checked: what the library runs on. */
export interface ResolvedDiscoveryOptions {
  etcd: IOptions & { hosts: string[] };
  namespace: string;
  ttl: number;
  registration: RegistrationMode;
  connectTimeoutMs: number;
  drainMs: number;
  backoff: Required<BackoffOptions>;
  strategy: StrategyOption;
  strategies: Record<string, StrategyOption>;
  requires: string[];
  waitForRequiredMs: number;
  resyncIntervalMs: number;
  logger: boolean;
  outlierEjection: OutlierEjectionSettings | false;
  health: Required<HealthOptions> | undefined;
  zone: string | undefined;
  zonePreference: boolean;
  selfPreservation: SelfPreservationSettings | false;
  calls: ResolvedCalls;
  slowStartMs: number;
  metrics: Required<MetricsOptions>;
}
