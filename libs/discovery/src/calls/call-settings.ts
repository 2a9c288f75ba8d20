import { messages } from '../discovery.messages.js';
import { DiscoveryOptionsError } from '../errors.js';
import type { ResolvedCallPolicy } from '../options/calls-options.interface.js';
import type { CallOptions } from './call-options.interface.js';
import type { RunSettings } from './run-settings.interface.js';

/** Other endpoints a call may try after failures, unless it says otherwise. */
export const DEFAULT_RETRIES = 2;

/**
 * What a way of calling adds to the settings of its calls (`fetch()`: which answers are failures, and how to drop one).
 */
export type CallAnswers<T> = Pick<
  RunSettings<T>,
  'failedAnswer' | 'discard' | 'losersFinish' | 'hedgeFits' | 'neverReached' | 'spanName'
>;

/**
 * The settings of one call: its options over its service's policy, each checked (a bad one throws
 * at once, saying what to give). Runs on every call: one object of one shape, nothing else allocated.
 */
export function callSettings<T>(
  service: string,
  policy: ResolvedCallPolicy,
  options: CallOptions,
  answers: CallAnswers<T>,
): RunSettings<T> {
  const {
    timeoutMs = policy.timeoutMs,
    retries = policy.retries ?? DEFAULT_RETRIES,
    idempotent = false,
    key,
    where,
  } = options;
  const attemptTimeoutMs = Math.min(options.attemptTimeoutMs ?? policy.attemptTimeoutMs, timeoutMs);
  if (!Number.isInteger(retries) || retries < 0)
    throw new DiscoveryOptionsError(messages.badCallRetries(service, retries));
  assertTimeout(service, 'timeoutMs', timeoutMs);
  assertTimeout(service, 'attemptTimeoutMs', attemptTimeoutMs);
  if (typeof idempotent !== 'boolean') throw new DiscoveryOptionsError(messages.badCallIdempotent(service, idempotent));
  const { failedAnswer, discard, losersFinish, hedgeFits, neverReached, spanName } = answers;
  return {
    timeoutMs,
    attemptTimeoutMs,
    idempotent,
    retries,
    key,
    where,
    failedAnswer,
    discard,
    losersFinish,
    hedgeFits,
    neverReached,
    spanName,
  };
}

function assertTimeout(service: string, name: string, value: unknown): void {
  if (typeof value !== 'number' || !(value >= 1) || !Number.isFinite(value))
    throw new DiscoveryOptionsError(messages.badCallTimeout(service, name, value));
}
