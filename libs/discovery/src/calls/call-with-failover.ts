import { instanceKey } from '../codec/instance-key.js';
import { messages } from '../discovery.messages.js';
import { DiscoveryOptionsError } from '../errors.js';
import type { EndpointFilter } from '../picking/subset.js';
import type { ServiceEndpoint } from '../service-endpoint.interface.js';
import { isConnectionError } from './connection-errors.js';
import type { CallAttempts } from './call-attempts.js';

/** Options of `DiscoveryClient.call()`. */
export interface CallOptions {
  /** Other endpoints a call may try after a connection failure. @default 2 */
  retries?: number;
  /** The key for `ConsistentHashStrategy`. */
  key?: string;
  /** Only endpoints of this subset. */
  where?: EndpointFilter;
}

/** `DiscoveryClient.call()`: an attempt on a picked endpoint; after a connection failure, one on an endpoint not tried yet. */
export async function callWithFailover<T>(
  attempts: CallAttempts,
  service: string,
  fn: (endpoint: ServiceEndpoint) => Promise<T>,
  { retries = 2, key, where }: CallOptions,
): Promise<T> {
  if (!Number.isInteger(retries) || retries < 0) throw new DiscoveryOptionsError(messages.badCallRetries(service, retries));
  const tried = new Set<string>();
  let endpoint: ServiceEndpoint | undefined = attempts.first(service, key, where);
  for (;;) {
    tried.add(instanceKey(endpoint));
    const attempt = attempts.start(endpoint);
    try {
      const result = await fn(endpoint);
      attempt.finish('answered');
      return result;
    } catch (error) {
      if (!isConnectionError(error)) {
        attempt.finish('answered'); // it answered, if only with an error
        throw error;
      }
      attempt.finish('unreachable');
      endpoint = tried.size <= retries ? attempts.next(service, tried, key, where) : undefined;
      if (endpoint === undefined) throw error;
    }
  }
}
