import { Module, type DynamicModule } from '@nestjs/common';
import { RESOLVED_DISCOVERY_OPTIONS } from '../discovery.constants.js';
import { DISCOVERY_MODULE_OPTIONS } from '../discovery.module-definition.js';
import { discoveryExports, discoveryProviders } from '../discovery.providers.js';
import { EtcdGateway } from '../etcd/etcd-gateway.js';
import { DiscoveryOptionsError } from '../errors.js';
import type {
  DiscoveryModuleOptions,
  ResolvedDiscoveryOptions,
} from '../options/discovery-module-options.interface.js';
import { InMemoryEtcd } from './in-memory-etcd.js';
import { InMemoryRegistry, type TestEndpoint } from './in-memory-registry.js';

/** `DiscoveryModule`'s options (but `etcd`), and the endpoints the store starts with. */
export interface DiscoveryTestingOptions extends Omit<DiscoveryModuleOptions, 'etcd'> {
  /** By service: `{ 'log-service': ['127.0.0.1:3001', { host: '127.0.0.1', port: 3002, weight: 2 }] }`. */
  endpoints?: Record<string, TestEndpoint[]>;
}

/**
 * `DiscoveryModule` with etcd in memory, for tests: the same `DiscoveryClient` (`endpoints$`,
 * `changes$`, `pick`, `waitFor`, strategies) and `ServiceRegistry`, with no etcd process. Import it
 * in a testing module in place of `DiscoveryModule.forRoot()`; inject `InMemoryRegistry` to add and
 * remove instances. The seeded services are required, so their lists are read at `init()`.
 * Self-preservation is off unless given: what a test removes is gone at once.
 */
@Module({})
export class DiscoveryTestingModule {
  static forRoot({ endpoints = {}, ...options }: DiscoveryTestingOptions = {}): DynamicModule {
    const seeded = Object.keys(endpoints);
    const discoveryOptions: DiscoveryModuleOptions = {
      selfPreservation: false,
      ...options,
      etcd: { hosts: ['in-memory'] },
      requires: [...(options.requires ?? []), ...seeded],
    };
    return {
      module: DiscoveryTestingModule,
      global: true,
      providers: [
        { provide: DISCOVERY_MODULE_OPTIONS, useValue: discoveryOptions },
        ...discoveryProviders,
        { provide: EtcdGateway, useClass: InMemoryEtcd },
        {
          provide: InMemoryRegistry,
          useFactory: (gateway: EtcdGateway, resolved: ResolvedDiscoveryOptions) => {
            const registry = new InMemoryRegistry(gateway, resolved);
            for (const service of seeded) {
              const list = endpoints[service];
              if (!Array.isArray(list)) {
                throw new DiscoveryOptionsError(
                  `DiscoveryTestingModule: endpoints["${service}"] must be an array of ` +
                    `'host:port' strings or registrations.`,
                );
              }
              for (const endpoint of list) registry.write(service, endpoint);
            }
            return registry;
          },
          inject: [EtcdGateway, RESOLVED_DISCOVERY_OPTIONS],
        },
      ],
      exports: [...discoveryExports, InMemoryRegistry],
    };
  }
}
