export { DiscoveryModule } from './discovery.module.js';
export { DISCOVERY_MODULE_OPTIONS } from './discovery.module-definition.js';
export type {
  DiscoveryModuleOptions,
  RegistrationMode,
  RetryOptions,
} from './options/discovery-module-options.interface.js';
export { Discoverable, type DiscoverableOptions } from './registration/discoverable.decorator.js';
export { ServiceRegistry } from './registration/service-registry.js';
export type { RegistrationState, ServiceRegistration } from './registration/service-registration.interface.js';
export type { RegistrationEvent } from './registration/registration-events.js';
export type { ServiceEndpoint } from './service-endpoint.interface.js';
export { encodeEndpoint, decodeEndpoint, type DecodeResult, type StoredEndpointValue } from './codec/endpoint-codec.js';
export { endpointKey, servicePrefix } from './codec/endpoint-key.js';
export { DiscoveryOptionsError, EtcdUnavailableError, RegistryClosedError } from './errors.js';
export { DiscoveryClient } from './discovery/discovery-client.js';
export { InjectDiscovery } from './discovery/inject-discovery.decorator.js';
export type { EndpointChange } from './discovery/endpoint-change.interface.js';
export {
  LOAD_BALANCING_STRATEGY,
  isInFlightTracker,
  type LoadBalancingStrategy,
  type PickContext,
  type InFlightTracker,
} from './balancing/load-balancing-strategy.js';
export { RoundRobinStrategy } from './balancing/round-robin.strategy.js';
export { RandomStrategy } from './balancing/random.strategy.js';
export { WeightedRoundRobinStrategy } from './balancing/weighted-round-robin.strategy.js';
export { ConsistentHashStrategy } from './balancing/consistent-hash.strategy.js';
export { LeastOutstandingStrategy } from './balancing/least-outstanding.strategy.js';
export { NoEndpointAvailableError, DiscoveryTimeoutError } from './errors.js';
export type { StrategyOption } from './options/discovery-module-options.interface.js';
export { DiscoveryClientsModule } from './transport/discovery-clients.module.js';
export { DiscoveryClientProxy } from './transport/discovery-client-proxy.js';
export type {
  DiscoveryClientOptions,
  DiscoveryClientAsyncOptions,
  DiscoveryClientConfig,
  DiscoveryClientOptionsFactory,
} from './transport/discovery-client-options.interface.js';
export { createEtcdResolverClass, ETCD_GRPC_SCHEME } from './transport/etcd-grpc-resolver.js';
