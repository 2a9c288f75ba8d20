import { messages } from '../discovery.messages.js';
import { DiscoveryOptionsError } from '../errors.js';
import type { BackoffOptions } from './backoff-options.interface.js';
import { DEFAULT_BACKOFF } from './defaults.js';
import type { DiscoveryModuleOptions } from './discovery-module-options.interface.js';
import { assertDuration, assertKnownKeys } from './validation.js';

let toldOfRetry = false;

/**
 * `backoff`, with its defaults, checked. Also read from `retry`, its old name, kept for one minor version:
 * a process that still uses it is told so once (a Node DeprecationWarning), and both at once is an error.
 */
export function resolveBackoff(options: DiscoveryModuleOptions): Required<BackoffOptions> {
  const name = options.backoff === undefined && options.retry !== undefined ? 'retry' : 'backoff';
  if (options.backoff !== undefined && options.retry !== undefined)
    throw new DiscoveryOptionsError(messages.backoffAndRetry());
  const given = name === 'retry' ? options.retry : options.backoff;
  assertKnownKeys(name, given, ['initialDelayMs', 'maxDelayMs']);
  const backoff = {
    initialDelayMs: given?.initialDelayMs ?? DEFAULT_BACKOFF.initialDelayMs,
    maxDelayMs: given?.maxDelayMs ?? DEFAULT_BACKOFF.maxDelayMs,
  };
  assertDuration(`${name}.initialDelayMs`, backoff.initialDelayMs, 1);
  assertDuration(`${name}.maxDelayMs`, backoff.maxDelayMs, 1);
  if (backoff.maxDelayMs < backoff.initialDelayMs)
    throw new DiscoveryOptionsError(messages.badBackoff(name, backoff.initialDelayMs, backoff.maxDelayMs));
  if (name === 'retry' && !toldOfRetry) {
    toldOfRetry = true;
    process.emitWarning(messages.retryRenamed(), { type: 'DeprecationWarning', code: 'NESTJS_ETCD_DISCOVERY_RETRY' });
  }
  return backoff;
}
