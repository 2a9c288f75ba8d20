import { Module } from '@nestjs/common';
import { DiscoveryModule as NestDiscoveryModule, ModuleRef } from '@nestjs/core';
import { LOAD_BALANCING_STRATEGY, type LoadBalancingStrategy } from './balancing/load-balancing-strategy.js';
import { instantiateStrategy, StrategyResolver } from './balancing/strategy-resolver.js';
import { DiscoveryClient } from './discovery/discovery-client.js';
import { RequiredServices } from './discovery/required-services.js';
import { RESOLVED_DISCOVERY_OPTIONS } from './discovery.constants.js';
import { ConfigurableDiscoveryModule, DISCOVERY_MODULE_OPTIONS } from './discovery.module-definition.js';
import { Etcd3Gateway } from './etcd/etcd3-gateway.js';
import { EtcdGateway } from './etcd/etcd-gateway.js';
import type { DiscoveryModuleOptions, ResolvedDiscoveryOptions } from './options/discovery-module-options.interface.js';
import { resolveDiscoveryOptions } from './options/resolve-options.js';
import { DiscoverableExplorer } from './registration/discoverable.explorer.js';
import { ListeningAddress } from './registration/listening-address.js';
import { RegistrationReconciler } from './registration/registration-reconciler.js';
import { RegistrationLifecycle } from './registration/registration.lifecycle.js';
import { ServiceRegistry } from './registration/service-registry.js';
import { StartupChecks } from './registration/startup-checks.js';
import { EtcdGrpcResolverRegistration } from './transport/etcd-grpc-resolver.js';

/**
 * Service discovery on etcd: `DiscoveryModule.forRoot(options)` or `forRootAsync({ … })`, once, in
 * the root module. Always global; it exports only the public API (`DiscoveryClient`,
 * `ServiceRegistry`, `LOAD_BALANCING_STRATEGY`).
 *
 * Shutdown follows the dependencies (Nest runs a module's hooks from the most dependent provider
 * down): the registry revokes its lease before the servers close, the watches stop, and the etcd
 * client — which everything else depends on — closes last.
 */
@Module({
  imports: [NestDiscoveryModule],
  providers: [
    {
      provide: RESOLVED_DISCOVERY_OPTIONS,
      useFactory: (options: DiscoveryModuleOptions) => resolveDiscoveryOptions(options),
      inject: [DISCOVERY_MODULE_OPTIONS],
    },
    { provide: EtcdGateway, useClass: Etcd3Gateway },
    {
      provide: LOAD_BALANCING_STRATEGY,
      useFactory: (options: ResolvedDiscoveryOptions, moduleRef: ModuleRef) => instantiateStrategy(moduleRef, options.strategy),
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
    // Discovery
    DiscoveryClient,
    RequiredServices,
    EtcdGrpcResolverRegistration,
  ],
  exports: [ServiceRegistry, DiscoveryClient, LOAD_BALANCING_STRATEGY],
})
export class DiscoveryModule extends ConfigurableDiscoveryModule {}
