import { ConfigurableModuleBuilder } from '@nestjs/common';
import type { DiscoveryModuleOptions } from './options/discovery-module-options.interface.js';

/**
 * `forRoot` / `forRootAsync` (useFactory, useClass, useExisting) from Nest's builder. The module is
 * global unless `isGlobal: false` is passed, since one etcd client and one lease serve the whole app.
 */
export const { ConfigurableModuleClass: ConfigurableDiscoveryModule, MODULE_OPTIONS_TOKEN: DISCOVERY_MODULE_OPTIONS } = new ConfigurableModuleBuilder<DiscoveryModuleOptions>()
  .setClassMethodName('forRoot')
  .setFactoryMethodName('createDiscoveryOptions')
  .setExtras({ isGlobal: true }, (definition, extras) => ({ ...definition, global: extras.isGlobal }))
  .build();
