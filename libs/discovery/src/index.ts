/**
 * nestjs-etcd-discovery: service discovery for NestJS on etcd. Everything a user needs is exported
 * here or from a subpath (/dashboard, /codec, /testing, /terminus), once; nothing else in the package
 * is public API.
 */

// The module and its options
export { DiscoveryModule } from './discovery.module.js';
export type { MetricsOptions } from './options/metrics-options.interface.js';
export type {
  DiscoveryModuleOptions,
  HealthOptions,
  RegistrationMode,
  StrategyOption,
} from './options/discovery-module-options.interface.js';
export type { BackoffOptions } from './options/backoff-options.interface.js';

// Registration: @Discoverable() classes, or ServiceRegistry by hand
export { Discoverable, type DiscoverableOptions } from './registration/discoverable.decorator.js';
export { ServiceRegistry } from './registration/service-registry.js';
export type { RegistrationState, ServiceRegistration } from './registration/service-registration.interface.js';
export type { RegistrationEvent } from './registration/registration-events.js';

// Discovery: live endpoints, picked without an etcd request
export { DiscoveryClient } from './discovery/discovery-client.js';
export { InjectDiscovery } from './discovery/inject-discovery.decorator.js';
export type { EndpointStatus, ServiceEndpoint } from './service-endpoint.interface.js';
export type { EndpointChange } from './watch/endpoint-change.interface.js';
export type { CallOptions } from './calls/call-options.interface.js';
export type { AttemptContext } from './calls/run-settings.interface.js';
export type { DiscoveryFetchInit } from './http/discovery-fetch.interface.js';
export type { InstanceTls } from './http/instance-pools.js';
export type {
  CallPolicy,
  DiscoveryCallsOptions,
  HedgeOptions,
  RetryBudgetOptions,
} from './options/calls-options.interface.js';
export type { Catalog, CatalogService, PatternKind } from './catalog/catalog.interface.js';
export type {
  TrafficPolicy,
  TrafficSplit,
  InstanceOverride,
  PolicyCalls,
  PolicyGuards,
} from './policy/traffic-policy.interface.js';
export {
  validateTrafficPolicy,
  type TrafficPolicyCheck,
  type TrafficPolicyContext,
  type PolicyProblem,
} from './policy/validate-traffic-policy.js';
export type { PickOptions } from './picking/service-picks.js';
export type { EndpointFilter } from './picking/subset.js';
export type { OutlierEjectionSettings, SelfPreservationSettings } from './options/behaviour-settings.interface.js';

// Load balancing
export {
  LOAD_BALANCING_STRATEGY,
  type InFlightTracker,
  type LoadBalancingStrategy,
  type PickContext,
} from './balancing/load-balancing-strategy.js';
export { RoundRobinStrategy } from './balancing/round-robin.strategy.js';
export { RandomStrategy } from './balancing/random.strategy.js';
export { WeightedRoundRobinStrategy } from './balancing/weighted-round-robin.strategy.js';
export { ConsistentHashStrategy } from './balancing/consistent-hash.strategy.js';
export { LeastOutstandingStrategy } from './balancing/least-outstanding.strategy.js';
export { LatencyAwareStrategy, type LatencyAwareOptions } from './balancing/latency-aware.strategy.js';

// Calling services: Nest ClientProxies over discovery
export { DiscoveryClientsModule } from './transport/discovery-clients.module.js';
export type {
  DiscoveryClientAsyncOptions,
  DiscoveryClientConfig,
  DiscoveryClientOptions,
  DiscoveryClientOptionsFactory,
} from './transport/discovery-client-options.interface.js';

// Errors
export {
  DiscoveryError,
  DiscoveryClosedError,
  DiscoveryOptionsError,
  CallTimeoutError,
  DiscoveryTimeoutError,
  EtcdUnavailableError,
  NoEndpointAvailableError,
  RegistryClosedError,
  RegistrationWithdrawnError,
} from './errors.js';
export type { DiscoveryErrorCode } from './errors.js';

// Old names, deprecated: the dashboard and the codec have their own entries now (/dashboard, /codec)
export {
  DiscoveryDashboardModule,
  decodeEndpoint,
  encodeEndpoint,
  endpointKey,
  servicePrefix,
  type CallCountsView,
  type CallPolicyOptions,
  type CallsOptions,
  type DashboardCalls,
  type DashboardChange,
  type DashboardInstance,
  type DashboardService,
  type DashboardSnapshot,
  type DecodeResult,
  type DiscoveryDashboardOptions,
  type InstanceCalls,
  type LastMinute,
  type RetryOptions,
  type StoredEndpointValue,
} from './deprecated.js';
