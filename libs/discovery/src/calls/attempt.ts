import type { InFlightTracker } from '../balancing/load-balancing-strategy.js';
import type { ServicePicks } from '../picking/service-picks.js';
import type { ServiceEndpoint } from '../service-endpoint.interface.js';
import type { InstanceCounter } from './call-counts.js';

/** How an attempt ended. */
export type AttemptOutcome =
  /** The instance answered: a result, or an error of its own. */
  | 'answered'
  /** It could not be reached: refused, reset, no answer before the connection failed. */
  | 'unreachable'
  /** No answer in time: a failure of the instance like a refused connection, its wait a response time. */
  | 'timeout'
  /** An answer that says the instance failed (an HTTP 502/503/504): a failure, and a response time. */
  | 'failed'
  /** Given up by the caller before either (a cancelled call, a hedge that lost): no outcome is reported. */
  | 'abandoned';

/** One attempt of a call on one endpoint, from `CallAttempts.start()` to `finish()`. */
export class Attempt {
  private readonly startedAt = performance.now();
  private responseMs: number | undefined;
  private finished = false;

  constructor(
    readonly endpoint: ServiceEndpoint,
    private readonly picks: ServicePicks,
    private readonly tracker: InFlightTracker | undefined,
    private readonly counter: InstanceCounter,
  ) {
    tracker?.callStarted(endpoint);
  }

  /** The instance answered (a first message, or the result): its response time is taken now, once. */
  answered(): void {
    this.responseMs ??= performance.now() - this.startedAt;
  }

  /** Whether an answer came before the end. */
  get hasAnswered(): boolean {
    return this.responseMs !== undefined;
  }

  /** How long it has been waiting, in ms. */
  get elapsedMs(): number {
    return performance.now() - this.startedAt;
  }

  /** The response time of its answer, once answered. */
  get answeredInMs(): number | undefined {
    return this.responseMs;
  }

  /**
   * Ends the attempt, once (true when this call ended it): outlier ejection hears whether the instance answered, or
   * failed (could not be reached, or kept silent too long); a load-aware strategy the response time — of an
   * answer, or the silence it waited out; the counts how it ended (`answerIsError`: the answer was an error).
   */
  finish(outcome: AttemptOutcome, answerIsError = false): boolean {
    if (this.finished) return false;
    this.finished = true;
    if (outcome === 'answered') {
      this.answered();
      this.picks.reportSuccess(this.endpoint);
    } else if (outcome === 'unreachable' || outcome === 'timeout' || outcome === 'failed') {
      if (outcome === 'failed') this.answered();
      this.picks.reportFailure(this.endpoint);
    }
    const waitedMs = outcome === 'timeout' ? this.elapsedMs : outcome === 'unreachable' ? undefined : this.responseMs;
    this.tracker?.callFinished(this.endpoint, waitedMs);
    const counted = outcome === 'failed' || (outcome === 'answered' && answerIsError) ? 'error' : outcome;
    this.counter.finished(counted, outcome === 'timeout' ? this.elapsedMs : this.responseMs);
    return true;
  }

  /**
   * An answer came after the attempt ended (a hedge's loser let finish): the instance is alive. Ejection hears it: a
   * loser silent past its hedge's delay counted as a timeout, and an instance just started, whose first cold answers
   * lose to hedges, is not kept out for them.
   */
  answeredLate(): void {
    this.picks.reportSuccess(this.endpoint);
  }
}
