import { Module } from '@nestjs/common';
import { DiscoveryModule as NestDiscoveryModule } from '@nestjs/core';
import { RESOLVED_DISCOVERY_OPTIONS } from './discovery.constants.js';
import { ConfigurableDiscoveryModule, DISCOVERY_MODULE_OPTIONS } from './discovery.module-definition.js';
import { EtcdConnection } from './etcd/etcd-connection.js';
import type { DiscoveryModuleOptions } from './options/discovery-module-options.interface.js';
import { resolveDiscoveryOptions } from './options/resolve-options.js';
import { DiscoverableExplorer } from './registration/discoverable.explorer.js';
import { ListeningAddress } from './registration/listening-address.js';
import { RegistrationLifecycle } from './registration/registration.lifecycle.js';
import { ServiceRegistry } from './registration/service-registry.js';

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
    EtcdConnection,
    ServiceRegistry,
    DiscoverableExplorer,
    ListeningAddress,
    RegistrationLifecycle,
  ],
  exports: [ServiceRegistry],
})
export class DiscoveryModule extends ConfigurableDiscoveryModule {}
