import { Module } from '@nestjs/common';
import { DiscoveryModule as NestDiscoveryModule, ModuleRef } from '@nestjs/core';
import { LOAD_BALANCING_STRATEGY } from './balancing/load-balancing-strategy.js';
import { instantiateStrategy, StrategyResolver } from './balancing/strategy-resolver.js';
import { DiscoveryClient } from './discovery/discovery-client.js';
import { RequiredServicesLifecycle } from './discovery/required-services.lifecycle.js';
import { RequiredServices } from './discovery/required-services.js';
import { RESOLVED_DISCOVERY_OPTIONS } from './discovery.constants.js';
import { ConfigurableDiscoveryModule, DISCOVERY_MODULE_OPTIONS } from './discovery.module-definition.js';
import { EtcdConnection } from './etcd/etcd-connection.js';
import type { DiscoveryModuleOptions, ResolvedDiscoveryOptions } from './options/discovery-module-options.interface.js';
import { resolveDiscoveryOptions } from './options/resolve-options.js';
import { DiscoverableExplorer } from './registration/discoverable.explorer.js';
import { ListeningAddress } from './registration/listening-address.js';
import { RegistrationLifecycle } from './registration/registration.lifecycle.js';
import { ServiceRegistry } from './registration/service-registry.js';
import { EtcdGrpcResolverRegistration } from './transport/etcd-grpc-resolver.js';

/**
 * Service discovery on etcd. `DiscoveryModule.forRoot(options)` or `forRootAsync({ … })`, once, in
 * the root module.
 */
@Module({
  imports: [NestDiscoveryModule],
  providers: [
    {
      provide: RESOLVED_DISCOVERY_OPTIONS,
      useFactory: (options: DiscoveryModuleOptions) => resolveDiscoveryOptions(options),
      inject: [DISCOVERY_MODULE_OPTIONS],
    },
    {
      provide: LOAD_BALANCING_STRATEGY,
      useFactory: (options: ResolvedDiscoveryOptions, moduleRef: ModuleRef) => instantiateStrategy(moduleRef, options.strategy),
      inject: [RESOLVED_DISCOVERY_OPTIONS, ModuleRef],
    },
    EtcdConnection,
    ServiceRegistry,
    DiscoverableExplorer,
    ListeningAddress,
    RegistrationLifecycle,
    StrategyResolver,
    DiscoveryClient,
    RequiredServices,
    RequiredServicesLifecycle,
    EtcdGrpcResolverRegistration,
  ],
  // StrategyResolver and RequiredServices are for DiscoveryClientsModule, not part of the public API.
  exports: [ServiceRegistry, DiscoveryClient, LOAD_BALANCING_STRATEGY, StrategyResolver, RequiredServices],
})
export class DiscoveryModule extends ConfigurableDiscoveryModule {}
