/**
 * nestjs-etcd-discovery/testing: the library's API backed by memory, for a user's unit tests.
 * `DiscoveryTestingModule.forRoot({ endpoints })` in place of `DiscoveryModule.forRoot()`, and
 * `InMemoryRegistry` to add and remove instances while a test runs.
 */
export { DiscoveryTestingModule, type DiscoveryTestingOptions } from './discovery-testing.module.js';
export { InMemoryRegistry, type TestEndpoint } from './in-memory-registry.js';
