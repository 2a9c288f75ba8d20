import { messages } from '../discovery.messages.js';
import { DiscoveryOptionsError } from '../errors.js';
import { isMicroservicesMissing } from '../util/nest-microservices.js';
import type { ClientProxyParts } from './client-proxy-parts.js';
import type { DiscoveryClientConfig } from './discovery-client-options.interface.js';
import type { DiscoveryClientProxy } from './discovery-client-proxy.js';

/**
 * Makes a client proxy of a `DiscoveryClientsModule` entry. Its class extends Nest's `ClientProxy`, so it
 * is loaded only here, when an app declares a client: an HTTP-only app, which has no `@nestjs/microservices`,
 * loads the library without it, and one that declares a client without it is told what to install.
 */
export async function createClientProxy(
  name: string | symbol,
  config: DiscoveryClientConfig & { retries: number },
  parts: ClientProxyParts,
): Promise<DiscoveryClientProxy> {
  try {
    const { DiscoveryClientProxy } = await import('./discovery-client-proxy.js');
    const client = new DiscoveryClientProxy(config, parts);
    parts.declared.push({ service: client.service, byPattern: client.byPattern });
    return client;
  } catch (error) {
    if (!isMicroservicesMissing(error)) throw error;
    throw new DiscoveryOptionsError(messages.microservicesMissing(String(name)), { cause: error });
  }
}
