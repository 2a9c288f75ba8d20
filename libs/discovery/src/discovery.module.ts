import { Module } from '@nestjs/common';
import { ConfigurableDiscoveryModule } from './discovery.module-definition.js';
import { discoveryExports, discoveryProviders } from './discovery.providers.js';
import { Etcd3Gateway } from './etcd/etcd3-gateway.js';
import { EtcdGateway } from './etcd/etcd-gateway.js';

/**
 * Service discovery on etcd: `DiscoveryModule.forRoot(options)` or `forRootAsync({ … })`, once, in
 * the root module. Always global; it exports only the public API (`DiscoveryClient`,
 * `ServiceRegistry`, `LOAD_BALANCING_STRATEGY`) and the status the health indicator reads.
 *
 * Shutdown follows the dependencies (Nest runs a module's hooks from the most dependent provider
 * down): the registry revokes its lease before the servers close, the watches stop, and the etcd
 * client — which everything else depends on — closes last.
 */
@Module({
  providers: [...discoveryProviders, { provide: EtcdGateway, useClass: Etcd3Gateway }],
  exports: discoveryExports,
})
export class DiscoveryModule extends ConfigurableDiscoveryModule {}
