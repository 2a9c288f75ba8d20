import { Module, type DynamicModule, type Provider } from '@nestjs/common';
import { Transport } from '@nestjs/microservices';
import { StrategyResolver } from '../balancing/strategy-resolver.js';
import { DiscoveryClient } from '../discovery/discovery-client.js';
import { RequiredServices } from '../discovery/required-services.js';
import { messages } from '../discovery.messages.js';
import { DiscoveryOptionsError } from '../errors.js';
import { assertServiceName } from '../options/validation.js';
import type {
  DiscoveryClientAsyncOptions,
  DiscoveryClientConfig,
  DiscoveryClientOptions,
  DiscoveryClientOptionsFactory,
} from './discovery-client-options.interface.js';
import { DiscoveryClientProxy } from './discovery-client-proxy.js';

const DEFAULT_RETRIES = 2;

/**
 * Nest ClientProxies over discovery, shaped like Nest's own `ClientsModule`:
 * `@Inject('LOG_SERVICE') client: ClientProxy` works unchanged. Needs DiscoveryModule in the app.
 */
@Module({})
export class DiscoveryClientsModule {
  static register(clients: DiscoveryClientOptions[]): DynamicModule {
    const providers = clients.map(({ name, ...config }): Provider => ({
      provide: name,
      useFactory: (discovery: DiscoveryClient, strategies: StrategyResolver, required: RequiredServices) =>
        createProxy(name, config, discovery, strategies, required),
      inject: [DiscoveryClient, StrategyResolver, RequiredServices],
    }));
    return { module: DiscoveryClientsModule, providers, exports: providers };
  }

  static registerAsync(clients: DiscoveryClientAsyncOptions[]): DynamicModule {
    const providers: Provider[] = [];
    for (const client of clients) {
      const configToken = Symbol(`discovery-client-config:${String(client.name)}`);
      providers.push(configProvider(configToken, client));
      if (client.useClass) providers.push({ provide: client.useClass, useClass: client.useClass });
      providers.push({
        provide: client.name,
        useFactory: (config: DiscoveryClientConfig, discovery: DiscoveryClient, strategies: StrategyResolver, required: RequiredServices) =>
          createProxy(client.name, config, discovery, strategies, required),
        inject: [configToken, DiscoveryClient, StrategyResolver, RequiredServices],
      });
    }
    const imports = clients.flatMap((client) => client.imports ?? []);
    const exported = clients.map((client) => client.name);
    return { module: DiscoveryClientsModule, imports, providers, exports: exported };
  }
}

function configProvider(token: symbol, client: DiscoveryClientAsyncOptions): Provider {
  if (client.useFactory) return { provide: token, useFactory: client.useFactory, inject: client.inject ?? [] };
  const factory = client.useClass ?? client.useExisting;
  if (!factory) {
    throw new DiscoveryOptionsError(messages.badClientOption(String(client.name), 'useFactory/useClass/useExisting', 'given'));
  }
  return {
    provide: token,
    useFactory: (instance: DiscoveryClientOptionsFactory) => instance.createClientOptions(),
    inject: [factory],
  };
}

function createProxy(
  name: string | symbol,
  config: DiscoveryClientConfig,
  discovery: DiscoveryClient,
  strategies: StrategyResolver,
  required: RequiredServices,
): DiscoveryClientProxy {
  const label = String(name);
  assertServiceName(config.service, `DiscoveryClientsModule entry "${label}"`);
  if (config.transport !== undefined && config.transport !== Transport.TCP) {
    throw new DiscoveryOptionsError(messages.unsupportedTransport(label, Transport[config.transport] ?? config.transport));
  }
  const retries = config.retries ?? DEFAULT_RETRIES;
  if (!Number.isInteger(retries) || retries < 0) {
    throw new DiscoveryOptionsError(messages.badClientOption(label, 'retries', 'a whole number ≥ 0 (default 2)'));
  }
  if (config.keyOf !== undefined && typeof config.keyOf !== 'function') {
    throw new DiscoveryOptionsError(messages.badClientOption(label, 'keyOf', 'a function (pattern, data) => string'));
  }
  // Watched from bootstrap, so that the first send() right after the app is up finds the instances.
  required.add(config.service);
  return new DiscoveryClientProxy({ ...config, retries }, discovery, strategies);
}
