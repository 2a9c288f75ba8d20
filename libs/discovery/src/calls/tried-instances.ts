import { instanceKey } from '../codec/instance-key.js';
import { messages, type NotRetried } from '../discovery.messages.js';
import { CallTimeoutError } from '../errors.js';
import type { Running } from './run-settings.interface.js';

/** The instances a call's attempts went to: worked out only when another endpoint is wanted. */
export function triedInstances(attempts: readonly Running[]): Set<string> {
  return new Set(attempts.map((attempt) => instanceKey(attempt.endpoint)));
}

/** The call's last attempt got no answer in time, and the call goes no further (`notRetried` says why). */
export function attemptTimeoutError(
  service: string,
  attemptTimeoutMs: number,
  attempts: readonly Running[],
  notRetried: NotRetried,
): CallTimeoutError {
  const tried = addresses(attempts);
  return new CallTimeoutError(service, tried, messages.attemptTimedOut(service, attemptTimeoutMs, tried, notRetried));
}

/** The call got no answer within its `timeoutMs`. */
export function callTimeoutError(service: string, timeoutMs: number, attempts: readonly Running[]): CallTimeoutError {
  const tried = addresses(attempts);
  return new CallTimeoutError(service, tried, messages.callTimedOut(service, timeoutMs, tried));
}

function addresses(attempts: readonly Running[]): string[] {
  return attempts.map((attempt) => attempt.endpoint.address);
}
