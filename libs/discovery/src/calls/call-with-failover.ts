import { isInFlightTracker } from '../balancing/load-balancing-strategy.js';
import { messages } from '../discovery.messages.js';
import { DiscoveryOptionsError } from '../errors.js';
import type { ServiceEndpoint } from '../service-endpoint.interface.js';
import { isConnectionError } from '../transport/connection-errors.js';
import type { DiscoveryClient } from '../discovery/discovery-client.js';
import { instanceKey } from '../codec/instance-key.js';
import type { EndpointFilter } from '../picking/subset.js';

/** Options of `DiscoveryClient.call()`. */
export interface CallOptions {
  /** Other endpoints a call may try after a connection failure. @default 2 */
  retries?: number;
  /** The key for `ConsistentHashStrategy`. */
  key?: string;
  /** Only endpoints of this subset. */
  where?: EndpointFilter;
}

/** `DiscoveryClient.call()`: pick, run, report; on a connection failure, an endpoint not tried yet. */
export async function callWithFailover<T>(
  discovery: DiscoveryClient,
  service: string,
  fn: (endpoint: ServiceEndpoint) => Promise<T>,
  { retries = 2, key, where }: CallOptions,
): Promise<T> {
  if (!Number.isInteger(retries) || retries < 0) throw new DiscoveryOptionsError(messages.badCallRetries(service, retries));
  const tried = new Set<string>();
  const pickOptions = { key, where };
  let endpoint: ServiceEndpoint = discovery.pick(service, pickOptions);
  const strategy = discovery.strategyFor(service);
  const tracker = isInFlightTracker(strategy) ? strategy : undefined;
  for (;;) {
    const current: ServiceEndpoint = endpoint;
    tried.add(instanceKey(current));
    tracker?.callStarted(current);
    const counted = discovery.callCounts.started(current);
    const startedAt = performance.now();
    let responseMs: number | undefined;
    let unreachable = false;
    try {
      const result = await fn(current);
      responseMs = performance.now() - startedAt;
      discovery.reportSuccess(current);
      return result;
    } catch (error) {
      if (!isConnectionError(error)) {
        responseMs = performance.now() - startedAt;
        discovery.reportSuccess(current); // it answered, if only with an error
        throw error;
      }
      unreachable = true;
      discovery.reportFailure(current);
      const next = tried.size <= retries ? discovery.pickExcept(service, tried, pickOptions) : undefined;
      if (next === undefined) throw error;
      endpoint = next;
    } finally {
      tracker?.callFinished(current, responseMs);
      counted.finished(unreachable);
    }
  }
}
