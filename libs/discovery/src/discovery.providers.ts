import type { Provider } from '@nestjs/common';
import { DiscoveryService as NestDiscoveryService, ModuleRef } from '@nestjs/core';
import { LOAD_BALANCING_STRATEGY, type LoadBalancingStrategy } from './balancing/load-balancing-strategy.js';
import { instantiateStrategy, StrategyResolver } from './picking/strategy-resolver.js';
import { RequiredServices } from './bootstrap/required-services.js';
import { CallAttempts } from './calls/call-attempts.js';
import { CallPolicies } from './calls/call-policies.js';
import { CallRecorder } from './calls/call-record.js';
import { CallMetrics } from './telemetry/call-metrics.js';
import { CallTelemetryRecorder } from './telemetry/call-telemetry.js';
import { CallTracing } from './telemetry/call-tracing.js';
import { DiscoveryMetrics } from './telemetry/discovery-metrics.js';
import { DiscoveryTelemetry } from './telemetry/discovery-telemetry.js';
import { CatalogWatches } from './catalog/catalog-watches.js';
import { DiscoveryClient } from './discovery/discovery-client.js';
import { InstancePools } from './http/instance-pools.js';
import { ServiceFetch } from './http/service-fetch.js';
import { DiscoveryStatus } from './discovery-status.js';
import { RESOLVED_DISCOVERY_OPTIONS } from './discovery.constants.js';
import { DISCOVERY_MODULE_OPTIONS } from './discovery.module-definition.js';
import type { DiscoveryModuleOptions, ResolvedDiscoveryOptions } from './options/discovery-module-options.interface.js';
import { resolveDiscoveryOptions } from './options/resolve-options.js';
import { DiscoverableExplorer } from './registration/discoverable.explorer.js';
import { HealthDrivenStatus } from './registration/health-driven-status.js';
import { ListeningAddress } from './registration/listening-address.js';
import { RegistrationReconciler } from './registration/registration-reconciler.js';
import { RegistrationLifecycle } from './registration/registration.lifecycle.js';
import { ServiceRegistry } from './registration/service-registry.js';
import { StartupChecks } from './registration/startup-checks.js';
import { ServicePicks } from './picking/service-picks.js';
import { TrafficPolicies } from './policy/traffic-policies.js';
import { PolicyReports } from './reports/policy-reports.js';
import { ClientProxyParts } from './transport/client-proxy-parts.js';
import { EtcdGrpcResolverRegistration } from './transport/etcd-grpc-resolver.js';
import { ServiceWatches } from './watch/service-watches.js';

/**
 * Everything `DiscoveryModule` provides except the etcd gateway, which the module that uses this
 * list supplies: the real one (`DiscoveryModule`) or etcd in memory (`DiscoveryTestingModule`).
 * Both need `DISCOVERY_MODULE_OPTIONS`.
 */
export const discoveryProviders: Provider[] = [
  // Nest's DiscoveryService, provided here rather than by importing Nest's DiscoveryModule, whose
  // class name is ours too: every boot would log "DiscoveryModule dependencies initialized" twice.
  NestDiscoveryService,
  {
    provide: RESOLVED_DISCOVERY_OPTIONS,
    useFactory: (options: DiscoveryModuleOptions) => resolveDiscoveryOptions(options),
    inject: [DISCOVERY_MODULE_OPTIONS],
  },
  {
    provide: LOAD_BALANCING_STRATEGY,
    useFactory: (options: ResolvedDiscoveryOptions, moduleRef: ModuleRef) =>
      instantiateStrategy(moduleRef, options.strategy),
    inject: [RESOLVED_DISCOVERY_OPTIONS, ModuleRef],
  },
  {
    provide: StrategyResolver,
    useFactory: (moduleRef: ModuleRef, options: ResolvedDiscoveryOptions, defaultStrategy: LoadBalancingStrategy) =>
      StrategyResolver.create(moduleRef, options, defaultStrategy),
    inject: [ModuleRef, RESOLVED_DISCOVERY_OPTIONS, LOAD_BALANCING_STRATEGY],
  },
  // Registration
  RegistrationReconciler,
  ServiceRegistry,
  DiscoverableExplorer,
  ListeningAddress,
  StartupChecks,
  RegistrationLifecycle,
  HealthDrivenStatus,
  // Discovery: the internal providers, then the facade over them
  ServiceWatches,
  CatalogWatches,
  TrafficPolicies,
  ServicePicks,
  CallPolicies,
  PolicyReports,
  // Telemetry: it listens to the parts above and records what they tell
  CallMetrics,
  CallTracing,
  { provide: CallRecorder, useClass: CallTelemetryRecorder },
  DiscoveryMetrics,
  DiscoveryTelemetry,
  CallAttempts,
  InstancePools,
  ServiceFetch,
  ClientProxyParts,
  DiscoveryClient,
  RequiredServices,
  EtcdGrpcResolverRegistration,
  DiscoveryStatus,
];

/**
 * What every module of the app may inject: the public API; `DiscoveryStatus`, which the health
 * indicator (`nestjs-etcd-discovery/terminus`) reads; and what the library's own modules, imported
 * elsewhere in the app, use — `ClientProxyParts` (DiscoveryClientsModule), `CatalogWatches`,
 * `CallAttempts`, `ServicePicks` and `TrafficPolicies` (DiscoveryDashboardModule). None of these is exported by the
 * package.
 */
export const discoveryExports = [
  ServiceRegistry,
  DiscoveryClient,
  LOAD_BALANCING_STRATEGY,
  DiscoveryStatus,
  ClientProxyParts,
  CatalogWatches,
  CallAttempts,
  ServicePicks,
  TrafficPolicies,
];
