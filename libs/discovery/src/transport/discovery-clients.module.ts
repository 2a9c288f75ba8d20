import { Module, type DynamicModule, type Provider } from '@nestjs/common';
import { messages } from '../discovery.messages.js';
import { DiscoveryOptionsError } from '../errors.js';
import { checkClientConfig } from './client-config-checks.js';
import { ClientProxyParts } from './client-proxy-parts.js';
import type {
  DiscoveryClientAsyncOptions,
  DiscoveryClientConfig,
  DiscoveryClientOptions,
  DiscoveryClientOptionsFactory,
} from './discovery-client-options.interface.js';
import { createClientProxy } from './load-client-proxy.js';

/**
 * Nest ClientProxies over discovery, shaped like Nest's own `ClientsModule`:
 * `@Inject('LOG_SERVICE') client: ClientProxy` works unchanged. Import it in any module of an app
 * that imports `DiscoveryModule` (which is global); each client's service is watched from bootstrap.
 */
@Module({})
export class DiscoveryClientsModule {
  static register(clients: DiscoveryClientOptions[]): DynamicModule {
    const providers = clients.map(({ name, ...config }): Provider => ({
      provide: name,
      useFactory: (parts: ClientProxyParts) => createClientProxy(name, checkClientConfig(name, config), parts),
      inject: [ClientProxyParts],
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
        useFactory: (config: DiscoveryClientConfig, parts: ClientProxyParts) =>
          createClientProxy(client.name, checkClientConfig(client.name, config), parts),
        inject: [configToken, ClientProxyParts],
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
    // Fails at init, like every other bad entry, not when the module is declared.
    const missing = new DiscoveryOptionsError(
      messages.badClientOption(String(client.name), 'useFactory, useClass or useExisting', 'given'),
    );
    return { provide: token, useFactory: () => Promise.reject(missing) };
  }
  return {
    provide: token,
    useFactory: (instance: DiscoveryClientOptionsFactory) => instance.createClientOptions(),
    inject: [factory],
  };
}
