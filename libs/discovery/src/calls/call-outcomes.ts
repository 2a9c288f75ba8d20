import type { NotRetried } from '../discovery.messages.js';
import type { AttemptKind, AttemptMetricOutcome, CallMetricOutcome } from './call-record.js';
import type { AttemptOutcome } from './attempt.js';

export type { CallMetricOutcome };
import type { Running } from './run-settings.interface.js';

/** A call's last failure when it was an attempt timeout: its error is worded once the call gives up. */
export const TIMED_OUT = Symbol('attempt timed out');

/**
 * How an attempt's end is reported in `discovery.call.attempts`, unless said otherwise (an answer that is an error).
 */
export const ATTEMPT_METRIC: Readonly<Record<AttemptOutcome, AttemptMetricOutcome>> = {
  answered: 'ok',
  failed: 'error',
  unreachable: 'unreachable',
  timeout: 'timeout',
  abandoned: 'cancelled',
};

/** The kind of `running` among a call's attempts: its first, a hedge, or a retry. */
export function attemptKind(running: Running, attempts: readonly Running[]): AttemptKind {
  return running === attempts[0] ? 'first' : running.isHedge ? 'hedge' : 'retry';
}

/** How a call that tried no further ended: its last attempt's failure, or the budget that stopped it. */
export function failureOutcome(lastTimedOut: boolean, notRetried: NotRetried): CallMetricOutcome {
  if (notRetried === 'budgetSpent') return 'budget_exhausted';
  return lastTimedOut ? 'timeout' : 'unreachable';
}
