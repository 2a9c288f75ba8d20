import type { NotRetried } from '../discovery.messages.js';
import type { ServiceEndpoint } from '../service-endpoint.interface.js';

/** What a failed attempt's call may do next: try `next`, or stop, and why (its error and its metric say it). */
export type RetryDecision = { next: ServiceEndpoint } | { notRetried: NotRetried };

/** What the retry decision asks of a call that had an attempt fail. */
export interface RetryQuestion {
  /** Whether this failure allows another instance: a timeout only for a call that may run twice. */
  mayRepeat: boolean;
  /** The attempts the call has made so far. */
  attempts: number;
  /** The most attempts after the first. */
  retries: number;
  /** An endpoint the call has not tried yet, if the strategy has one. */
  untried(): ServiceEndpoint | undefined;
  /** Takes one attempt from the service's retry budget; false when it is spent. */
  fromBudget(): boolean;
}

/**
 * The one retry decision of `call()`, `discovery.fetch()` and the client proxies' `send()`, in this order: a
 * failure that allows no repeat; no retries left; no instance left to try; the budget spent (asked last, so that
 * nothing is taken from it for a call that could not go on anyway).
 */
export function decideRetry(question: RetryQuestion): RetryDecision {
  if (!question.mayRepeat) return { notRetried: 'notIdempotent' };
  if (question.attempts > question.retries) return { notRetried: 'noRetriesLeft' };
  const next = question.untried();
  if (next === undefined) return { notRetried: 'noneLeft' };
  if (!question.fromBudget()) return { notRetried: 'budgetSpent' };
  return { next };
}
