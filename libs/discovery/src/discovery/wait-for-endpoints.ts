import { EmptyError, filter, firstValueFrom, tap, throwError, timeout, type Observable } from 'rxjs';
import { messages } from '../discovery.messages.js';
import type { ServiceEndpoint } from '../service-endpoint.interface.js';
import { DiscoveryClosedError, DiscoveryOptionsError, DiscoveryTimeoutError } from '../errors.js';

/**
 * `DiscoveryClient.waitFor()`: the first list of `service` with at least `count` endpoints, from
 * the lists `endpoints$()` gives (called once the arguments are checked); rejects after `timeoutMs`,
 * or when discovery closes first.
 */
export async function waitForEndpoints(
  endpoints$: () => Observable<readonly ServiceEndpoint[]>,
  service: string,
  count: number,
  timeoutMs: number,
): Promise<readonly ServiceEndpoint[]> {
  if (!Number.isInteger(count) || count < 1 || !(timeoutMs > 0)) {
    throw new DiscoveryOptionsError(`waitFor("${service}") needs a whole count ≥ 1 and a timeoutMs > 0.`);
  }
  let have = 0;
  const enough = endpoints$().pipe(
    tap((list) => (have = list.length)),
    filter((list) => list.length >= count),
    timeout({
      first: timeoutMs,
      with: () => throwError(() => new DiscoveryTimeoutError(messages.waitTimeout(service, count, timeoutMs, have))),
    }),
  );
  try {
    return await firstValueFrom(enough);
  } catch (error) {
    if (error instanceof EmptyError) throw new DiscoveryClosedError(messages.discoveryClosed());
    throw error;
  }
}
