import type { NotRetried } from '../discovery.messages.js';
import type { ServiceEndpoint } from '../service-endpoint.interface.js';
import type { CallTelemetry } from '../telemetry/call-telemetry.js';
import type { AttemptOutcome } from './attempt.js';
import type { ServiceCalls } from './call-policies.js';
import type { AttemptContext, AttemptSource, Running, RunSettings } from './run-settings.interface.js';
import { isConnectionError } from './connection-errors.js';
import { afterIo } from './after-io.js';
import { ATTEMPT_METRIC, attemptKind, failureOutcome, TIMED_OUT, type CallMetricOutcome } from './call-outcomes.js';
import { LazyAttemptContext } from './attempt-signal.js';
import { attemptTimeoutError, callTimeoutError, triedInstances } from './tried-instances.js';

/**
 * One call through discovery: a first attempt on the strategy's pick; a retry on an endpoint not tried
 * yet after a connection failed before any answer (always), an attempt timeout or a failed answer
 * (idempotent calls); one hedge after `hedgeAfterMs` (idempotent calls); the retry budget over it all;
 * a deadline over the whole call. `CallAttempts` counts, reports and records (metrics) each attempt.
 */
export class CallRun<T> {
  private readonly running: Running[] = [];
  private readonly telemetry: CallTelemetry;
  private deadline: NodeJS.Timeout | undefined; // the call's own timer: set once a second attempt starts, or for a first without one
  private readonly deadlineAt: number;
  private hedged = false;
  private settled = false;
  private lastError: unknown; // the last failure: an error, or `TIMED_OUT`
  private notRetried: NotRetried = 'noneLeft'; // why the call tried no further, when it did not
  /** An answer that is a failure, kept while another attempt may still do better: the result if none does. */
  private fallback: { value: T } | undefined;
  private resolve!: (value: T) => void;
  private reject!: (error: unknown) => void;

  constructor(
    private readonly attempts: AttemptSource,
    private readonly calls: ServiceCalls,
    private readonly settings: RunSettings<T>,
    private readonly attemptFn: (endpoint: ServiceEndpoint, context: AttemptContext) => Promise<T>,
  ) {
    this.deadlineAt = performance.now() + settings.timeoutMs;
    this.telemetry = attempts.telemetryOf(calls.service, settings.spanName ?? 'call');
  }

  /** Runs the call; rejects with `NoEndpointAvailableError` at once when the service has no endpoint to pick. */
  start(): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      [this.resolve, this.reject] = [resolve, reject];
      const first = this.attempts.first(this.calls.service, this.settings.key, this.settings.where, this.telemetry);
      this.calls.started();
      this.launch(first, false);
    });
  }

  private launch(endpoint: ServiceEndpoint, isHedge: boolean): void {
    const record = this.attempts.start(endpoint);
    const context = new LazyAttemptContext(this.running.length + 1, this.telemetry.span);
    const running: Running = { endpoint, record, context, isHedge, timer: undefined, done: false };
    this.running.push(running);
    const remainingMs = this.deadlineAt - performance.now();
    const attemptMs = this.settings.attemptTimeoutMs < remainingMs ? this.settings.attemptTimeoutMs : undefined;
    const hedgeAfterMs = this.settings.idempotent && !this.hedged ? this.calls.hedgeAfterMs() : undefined;
    if (hedgeAfterMs !== undefined && hedgeAfterMs < Math.min(remainingMs, this.settings.attemptTimeoutMs)) {
      // One timer at a time: the hedge's, then what is left of the attempt's.
      running.timer = setTimeout(afterIo(() => this.hedgeDue(running, attemptMs === undefined ? undefined : attemptMs - hedgeAfterMs)), hedgeAfterMs);
    } else if (attemptMs !== undefined) {
      running.timer = setTimeout(afterIo(() => this.attemptTimedOut(running)), attemptMs);
    }
    // While one attempt runs under a timeout of its own, that bounds the call: one timer per call, not two.
    if (this.deadline === undefined && (this.running.length > 1 || attemptMs === undefined)) {
      this.deadline = setTimeout(afterIo(() => this.deadlinePassed()), Math.max(0, remainingMs));
    }
    let answer: Promise<T>;
    try {
      answer = this.attemptFn(endpoint, context);
    } catch (error) {
      answer = Promise.reject(error);
    }
    answer.then(
      (value) => this.answered(running, value),
      (error: unknown) => this.failed(running, error),
    );
  }

  private answered(running: Running, value: T): void {
    if (running.done || this.settled) return;
    const failedAnswer = this.settings.failedAnswer?.(value) === true;
    this.end(running, failedAnswer ? 'failed' : 'answered');
    const responseMs = running.record.answeredInMs;
    if (responseMs !== undefined) this.calls.latency.record(responseMs);
    if (failedAnswer && this.settings.idempotent) {
      if (this.fallback !== undefined) this.settings.discard?.(this.fallback.value);
      this.fallback = { value };
      if (this.tryAgain() || this.anyInFlight()) return;
    }
    this.settle(failedAnswer ? 'error' : 'ok', () => this.resolve(value), value);
  }

  private failed(running: Running, error: unknown): void {
    if (running.done || this.settled) return;
    if (!isConnectionError(error)) {
      // An error of the instance's own is its answer.
      this.end(running, 'answered', 'error');
      this.settle('error', () => this.reject(error));
      return;
    }
    this.end(running, 'unreachable');
    this.lastError = error;
    const { idempotent, neverReached } = this.settings;
    if (idempotent || neverReached === undefined || neverReached(error)) this.tryAgainOrFail();
    else this.settle('unreachable', () => this.reject(error));
  }

  private attemptTimedOut(running: Running): void {
    if (running.done || this.settled) return;
    this.end(running, 'timeout');
    running.context.abort(new Error('attempt timed out'));
    this.lastError = TIMED_OUT;
    if (this.settings.idempotent) this.tryAgainOrFail();
    else if (!this.anyInFlight()) this.settle('timeout', () => this.reject(attemptTimeoutError(this.calls.service, this.settings.attemptTimeoutMs, this.running, 'notIdempotent')));
  }

  /** `running` has had no answer for the hedge's delay: its attempt timeout goes on with what is left of it; a hedge goes out. */
  private hedgeDue(running: Running, restMs: number | undefined): void {
    if (running.done || this.settled) return;
    if (restMs !== undefined) running.timer = setTimeout(afterIo(() => this.attemptTimedOut(running)), restMs);
    if (this.hedged) return;
    const next = this.attempts.next(this.calls.service, triedInstances(this.running), this.settings.key, this.settings.where);
    if (next === undefined || !this.calls.mayTryAgain()) return;
    this.hedged = true;
    this.launch(next, true);
  }

  private deadlinePassed(): void {
    if (this.settled) return;
    for (const running of this.running) {
      if (running.done) continue;
      this.end(running, 'timeout');
      running.context.abort(new Error('call timed out'));
    }
    this.settle('timeout', () => this.reject(callTimeoutError(this.calls.service, this.settings.timeoutMs, this.running)));
  }

  /**
   * After a failure: another endpoint if the call may try one; else, when nothing is left in flight,
   * the call ends with what it had — an answer that was a failure, if one came, or the error.
   */
  private tryAgainOrFail(): void {
    if (this.tryAgain() || this.anyInFlight()) return;
    const fallback = this.fallback;
    const timedOut = this.lastError === TIMED_OUT;
    const error = timedOut ? attemptTimeoutError(this.calls.service, this.settings.attemptTimeoutMs, this.running, this.notRetried) : this.lastError;
    if (fallback === undefined) this.settle(failureOutcome(timedOut, this.notRetried), () => this.reject(error));
    else this.settle('error', () => this.resolve(fallback.value), fallback.value);
  }

  /** Launches a retry on an endpoint not tried yet, if any, within the retries, the deadline and the budget. */
  private tryAgain(): boolean {
    if (performance.now() >= this.deadlineAt) return false;
    if (this.running.length > this.settings.retries) return this.stop('noRetriesLeft');
    const next = this.attempts.next(this.calls.service, triedInstances(this.running), this.settings.key, this.settings.where);
    if (next === undefined) return this.stop('noneLeft');
    if (!this.calls.mayTryAgain()) return this.stop('budgetSpent');
    this.launch(next, false);
    return true;
  }

  private stop(why: NotRetried): false {
    this.notRetried = why;
    return false;
  }

  private anyInFlight(): boolean {
    return this.running.some((running) => !running.done);
  }

  private end(running: Running, outcome: AttemptOutcome, reported = ATTEMPT_METRIC[outcome]): void {
    running.done = true;
    clearTimeout(running.timer);
    running.record.finish(outcome, reported === 'error');
    this.telemetry.attemptEnded(running.endpoint.address, reported, attemptKind(running, this.running));
  }

  /**
   * Settles the call once, and ends what is still in flight: aborted. One that a hedge answered
   * before — silent at least the hedge's delay — counts as a timeout of its instance; a hedge
   * that lost, as given up.
   */
  private settle(outcome: CallMetricOutcome, settleWith: () => void, result?: T): void {
    if (this.settled) return;
    this.settled = true;
    this.telemetry.callEnded(outcome, performance.now() - (this.deadlineAt - this.settings.timeoutMs));
    clearTimeout(this.deadline);
    if (this.fallback !== undefined && this.fallback.value !== result) this.settings.discard?.(this.fallback.value);
    for (const running of this.running) {
      if (running.done) continue;
      this.end(running, this.hedged && !running.isHedge ? 'timeout' : 'abandoned');
      running.context.abort(new Error('another attempt answered first'));
    }
    settleWith();
  }
}
