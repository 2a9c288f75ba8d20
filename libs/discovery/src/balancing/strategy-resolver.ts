import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { RESOLVED_DISCOVERY_OPTIONS } from '../discovery.constants.js';
import type { ResolvedDiscoveryOptions, StrategyOption } from '../options/discovery-module-options.interface.js';
import { LOAD_BALANCING_STRATEGY, type LoadBalancingStrategy } from './load-balancing-strategy.js';

/**
 * An instance as it is; a class instantiated by Nest, so that its constructor dependencies are
 * injected (from providers visible to DiscoveryModule: global ones, or those of `forRootAsync`'s imports).
 */
export async function instantiateStrategy(moduleRef: ModuleRef, option: StrategyOption): Promise<LoadBalancingStrategy> {
  return typeof option === 'function' ? moduleRef.create(option) : option;
}

/** Which strategy picks for which service: the per-service override, or the app's default. */
@Injectable()
export class StrategyResolver implements OnModuleInit {
  private readonly perService = new Map<string, LoadBalancingStrategy>();

  constructor(
    @Inject(RESOLVED_DISCOVERY_OPTIONS) private readonly options: ResolvedDiscoveryOptions,
    @Inject(LOAD_BALANCING_STRATEGY) private readonly defaultStrategy: LoadBalancingStrategy,
    private readonly moduleRef: ModuleRef,
  ) {}

  async onModuleInit(): Promise<void> {
    for (const [service, option] of Object.entries(this.options.strategies)) {
      this.perService.set(service, await instantiateStrategy(this.moduleRef, option));
    }
  }

  forService(service: string): LoadBalancingStrategy {
    return this.perService.get(service) ?? this.defaultStrategy;
  }
}
