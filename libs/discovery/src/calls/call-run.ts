import type { ServiceEndpoint } from '../service-endpoint.interface.js';
import type { CallRecord } from './call-record.js';
import type { ServiceCalls } from './call-policies.js';
import type { AttemptContext, AttemptSource, Running, RunSettings } from './run-settings.interface.js';
import { isConnectionError } from './connection-errors.js';
import { CallRetries } from './call-retries.js';
import { CallTimers } from './call-timers.js';
import { failureOutcome, TIMED_OUT, type CallMetricOutcome } from './call-outcomes.js';
import { RunningAttempts } from './running-attempts.js';
import { attemptTimeoutError, callTimeoutError } from './tried-instances.js';

/**
 * One call through discovery: a first attempt on the strategy's pick; a retry on an endpoint not tried
 * yet after a connection failed before any answer (always), an attempt timeout or a failed answer
 * (idempotent calls); hedges (idempotent calls): while none has answered, one more attempt every
 * `hedgeAfterMs` on an endpoint not tried yet, up to the policy's `maxAttempts`; the retry budget over
 * it all; a deadline over the whole call. `CallAttempts` counts, reports and records (metrics) each attempt.
 */
export class CallRun<T> {
  private readonly running: RunningAttempts;
  private readonly retries: CallRetries;
  private readonly telemetry: CallRecord;
  private readonly timers: CallTimers;
  private settled = false;
  private lastError: unknown; // the last failure: an error, or `TIMED_OUT`
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
    this.timers = new CallTimers(settings.timeoutMs, settings.attemptTimeoutMs, {
      hedgeDue: (running, restMs, lateMs, waitedMs) => this.hedgeDue(running, restMs, lateMs, waitedMs),
      attemptTimedOut: (running) => this.attemptTimedOut(running),
      deadlinePassed: () => this.deadlinePassed(),
    });
    this.telemetry = attempts.telemetryOf(calls.service, settings.spanName ?? 'call');
    this.running = new RunningAttempts(this.telemetry);
    this.retries = new CallRetries(attempts, calls, settings, this.running, this.timers);
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
    const running = this.running.add(endpoint, this.attempts.start(endpoint), isHedge);
    // While the caller is overloaded, a hedge waits for that to pass as well (see `CallerLoad`).
    const hedged = this.settings.idempotent && this.running.count < this.maxHedgedAttempts();
    const hedgeAfterMs = hedged ? this.calls.hedgeOfCallStartingMs(this.settings.attemptTimeoutMs) : undefined;
    this.timers.start(running, this.running.count, hedgeAfterMs);
    let answer: Promise<T>;
    try {
      answer = this.attemptFn(endpoint, running.context);
    } catch (error) {
      // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- rejects with what was thrown, as is
      answer = Promise.reject(error);
    }
    answer.then(
      (value) => this.answered(running, value),
      (error: unknown) => this.failed(running, error),
    );
  }

  private answered(running: Running, value: T): void {
    if (running.done) return this.late(running, value);
    const failedAnswer = this.settings.failedAnswer?.(value) === true;
    this.running.end(running, failedAnswer ? 'failed' : 'answered');
    const responseMs = running.record.answeredInMs;
    if (responseMs !== undefined) this.calls.latency.record(responseMs);
    if (failedAnswer && this.settings.idempotent) {
      if (this.fallback !== undefined) this.settings.discard?.(this.fallback.value);
      this.fallback = { value };
      if (this.tryAgain() || this.running.anyInFlight()) return;
    }
    this.settle(failedAnswer ? 'error' : 'ok', () => this.resolve(value), value);
  }

  private failed(running: Running, error: unknown): void {
    if (running.done) return this.late(running);
    if (!isConnectionError(error)) {
      // An error of the instance's own is its answer.
      this.running.end(running, 'answered', 'error');
      this.settle('error', () => this.reject(error));
      return;
    }
    this.running.end(running, 'unreachable');
    this.lastError = error;
    const { idempotent, neverReached } = this.settings;
    if (idempotent || neverReached === undefined || neverReached(error)) this.tryAgainOrFail();
    else this.settle('unreachable', () => this.reject(error));
  }

  private attemptTimedOut(running: Running): void {
    if (running.done || this.settled) return;
    this.running.end(running, 'timeout');
    running.context.abort(new Error('attempt timed out'));
    this.lastError = TIMED_OUT;
    if (this.settings.idempotent) this.tryAgainOrFail();
    else if (!this.running.anyInFlight())
      this.settle('timeout', () =>
        this.reject(
          attemptTimeoutError(this.calls.service, this.settings.attemptTimeoutMs, this.running.all, 'notIdempotent'),
        ),
      );
  }

  /**
   * `running` has had no answer for the hedge's delay: its attempt timeout goes on with what is left of it; a
   * hedge goes out, unless the call has made its most attempts. Not now while the caller's event loop is late
   * (`CallerLoad`), or no instance may take it (see `hedgeFits`, the budget): asked again, at twice the last wait,
   * while the attempt waits — a hedge not sent cost a call on a hung instance its whole attempt timeout (CI: 2,020 ms).
   */
  private hedgeDue(running: Running, restMs: number | undefined, lateMs: number, waitedMs?: number): void {
    const callerLate = this.calls.load.timerLate(lateMs); // heard even when the answer came meanwhile
    if (running.done || this.settled) return;
    running.overdue = true;
    if (restMs !== undefined) this.timers.timeOut(running, restMs);
    if (this.running.count >= this.maxHedgedAttempts()) return;
    const next = callerLate ? undefined : this.retries.hedge();
    if (next !== undefined) this.launch(next, true);
    else this.timers.hedgeAgain(running, waitedMs === undefined ? this.calls.hedgeAfterMs()! : 2 * waitedMs, lateMs);
  }

  /** The most attempts hedging may bring the call to. */
  private maxHedgedAttempts(): number {
    const { hedge } = this.calls.policy;
    return hedge === false ? 1 : hedge.maxAttempts;
  }

  private deadlinePassed(): void {
    if (this.settled) return;
    this.running.endInFlight(() => 'timeout', 'call timed out');
    this.settle('timeout', () =>
      this.reject(callTimeoutError(this.calls.service, this.settings.timeoutMs, this.running.all)),
    );
  }

  /** The answer or error of an attempt already ended (a loser let finish, one timed out): dropped; a loser's, heard. */
  private late(running: Running, value?: T): void {
    clearTimeout(running.timer);
    if (value === undefined) return;
    if (this.settings.losersFinish === true && this.settings.failedAnswer?.(value) !== true)
      running.record.answeredLate();
    this.settings.discard?.(value);
  }

  /**
   * After a failure: another endpoint if the call may try one; else, when nothing is left in flight,
   * the call ends with what it had — an answer that was a failure, if one came, or the error.
   */
  private tryAgainOrFail(): void {
    if (this.tryAgain() || this.running.anyInFlight()) return;
    const fallback = this.fallback;
    const timedOut = this.lastError === TIMED_OUT;
    const { notRetried } = this.retries;
    const error = timedOut
      ? attemptTimeoutError(this.calls.service, this.settings.attemptTimeoutMs, this.running.all, notRetried)
      : this.lastError;
    if (fallback === undefined) this.settle(failureOutcome(timedOut, notRetried), () => this.reject(error));
    else this.settle('error', () => this.resolve(fallback.value), fallback.value);
  }

  /** Launches a retry on an endpoint not tried yet, if any, within the retries, the deadline and the budget. */
  private tryAgain(): boolean {
    const next = this.retries.retry();
    if (next !== undefined) this.launch(next, false);
    return next !== undefined;
  }

  /**
   * Settles the call once, and ends what is still in flight: aborted, or let finish (`losersFinish`). One silent past
   * its hedge's delay counts as a timeout of its instance (ejection hears it, and an answer after: `late`).
   */
  private settle(outcome: CallMetricOutcome, settleWith: () => void, result?: T): void {
    if (this.settled) return;
    this.settled = true;
    this.telemetry.callEnded(outcome, this.timers.elapsedMs);
    this.timers.stop();
    if (this.fallback !== undefined && this.fallback.value !== result) this.settings.discard?.(this.fallback.value);
    this.running.endInFlight(
      (running) => (running.overdue === true ? 'timeout' : 'abandoned'),
      'another attempt answered first',
      this.settings.losersFinish === true ? this.settings.attemptTimeoutMs : undefined,
    );
    settleWith();
  }
}
