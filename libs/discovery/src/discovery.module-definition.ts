import { ConfigurableModuleBuilder, type Provider } from '@nestjs/common';
import { messages } from './discovery.messages.js';
import { DiscoveryOptionsError } from './errors.js';
import type { DiscoveryModuleOptions } from './options/discovery-module-options.interface.js';

/**
 * `forRoot` / `forRootAsync` (useFactory, useClass, useExisting) from Nest's builder. The module is
 * always global: one etcd client and one lease serve the whole app, and every module — feature
 * modules with `DiscoveryClientsModule` included — sees the same `DiscoveryClient`.
 */
export const { ConfigurableModuleClass: ConfigurableDiscoveryModule, MODULE_OPTIONS_TOKEN: DISCOVERY_MODULE_OPTIONS } =
  new ConfigurableModuleBuilder<DiscoveryModuleOptions>()
    .setClassMethodName('forRoot')
    .setFactoryMethodName('createDiscoveryOptions')
    // `isGlobal` is accepted for compatibility, as `true` only: `false` fails at init, saying why.
    .setExtras<{ isGlobal?: true }>({ isGlobal: true }, (definition, extras) => ({
      ...definition,
      global: true,
      providers: extras.isGlobal === true ? definition.providers : [...(definition.providers ?? []), rejectNotGlobal],
    }))
    .build();

const rejectNotGlobal: Provider = {
  provide: Symbol('nestjs-etcd-discovery:not-global'),
  useFactory: () => {
    throw new DiscoveryOptionsError(messages.notGlobal());
  },
};
