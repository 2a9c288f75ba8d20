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
