import type { ModuleRef } from '@nestjs/core';
import type { ResolvedDiscoveryOptions, StrategyOption } from '../options/discovery-module-options.interface.js';
import type { LoadBalancingStrategy } from '../balancing/load-balancing-strategy.js';

/**
 * An instance as it is; a class instantiated by Nest, so that its constructor dependencies are
 * injected (from providers visible to DiscoveryModule: global ones, or those of `forRootAsync`'s imports).
 */
export async function instantiateStrategy(
  moduleRef: ModuleRef,
  option: StrategyOption,
): Promise<LoadBalancingStrategy> {
  return typeof option === 'function' ? moduleRef.create(option) : option;
}

/**
 * Which strategy picks for which service: the per-service override, or the app's default. Built by
 * a factory provider, so that every strategy exists before anything can pick.
 */
export class StrategyResolver {
  private constructor(
    private readonly defaultStrategy: LoadBalancingStrategy,
    private readonly perService: ReadonlyMap<string, LoadBalancingStrategy>,
  ) {}

  static async create(
    moduleRef: ModuleRef,
    options: ResolvedDiscoveryOptions,
    defaultStrategy: LoadBalancingStrategy,
  ): Promise<StrategyResolver> {
    const perService = new Map<string, LoadBalancingStrategy>();
    for (const [service, option] of Object.entries(options.strategies))
      perService.set(service, await instantiateStrategy(moduleRef, option));
    return new StrategyResolver(defaultStrategy, perService);
  }

  forService(service: string): LoadBalancingStrategy {
    return this.perService.get(service) ?? this.defaultStrategy;
  }
}
