import { afterIo } from './after-io.js';
import type { Running } from './run-settings.interface.js';

/** What a call does when one of its timers fires. */
export interface TimerActions {
  /**
   * `running` has had no answer for the hedge's delay; `restMs` is what is left of its attempt timeout, `lateMs` how
   * much later than due the timer fired (the caller's event loop was busy); `waitedMs`, the wait of a hedge asked
   * again (`hedgeAgain`).
   */
  hedgeDue(running: Running, restMs: number | undefined, lateMs: number, waitedMs?: number): void;
  attemptTimedOut(running: Running): void;
  deadlinePassed(): void;
}

/**
 * When things happen in one call: its deadline, and the timer of each attempt — the hedge's delay, when a
 * hedge may go out before the attempt times out, then what is left of its attempt timeout. Each action
 * runs after the I/O that arrived meanwhile (`afterIo`). Apart from `CallRun`, which says what each timer
 * does: this says when.
 */
export class CallTimers {
  private readonly deadlineAt: number;
  /** The call's own timer: set once a second attempt starts, or for a first without one. */
  private deadline: NodeJS.Timeout | undefined;
  /** A hedge not sent when due, asked again (one at a time). */
  private again: NodeJS.Timeout | undefined;

  constructor(
    private readonly timeoutMs: number,
    private readonly attemptTimeoutMs: number,
    private readonly actions: TimerActions,
  ) {
    this.deadlineAt = performance.now() + timeoutMs;
  }

  /** Whether the call's deadline has passed. */
  get passed(): boolean {
    return performance.now() >= this.deadlineAt;
  }

  /** How long the call has run. */
  get elapsedMs(): number {
    return performance.now() - (this.deadlineAt - this.timeoutMs);
  }

  /**
   * Sets the timers of `running`, the call's `attempts`-th attempt, which starts now; a hedge may go out
   * after `hedgeAfterMs`.
   */
  start(running: Running, attempts: number, hedgeAfterMs: number | undefined): void {
    const remainingMs = this.deadlineAt - performance.now();
    const attemptMs = this.attemptTimeoutMs < remainingMs ? this.attemptTimeoutMs : undefined;
    if (hedgeAfterMs !== undefined && hedgeAfterMs < Math.min(remainingMs, this.attemptTimeoutMs)) {
      // One timer at a time: the hedge's, then what is left of the attempt's.
      const dueAt = performance.now() + hedgeAfterMs;
      const restMs = attemptMs === undefined ? undefined : attemptMs - hedgeAfterMs;
      running.timer = setTimeout(
        afterIo(() => this.actions.hedgeDue(running, restMs, performance.now() - dueAt)),
        hedgeAfterMs,
      );
    } else if (attemptMs !== undefined) {
      this.timeOut(running, attemptMs);
    }
    // While one attempt runs under a timeout of its own, that bounds the call: one timer per call, not two.
    if (this.deadline === undefined && (attempts > 1 || attemptMs === undefined)) {
      this.deadline = setTimeout(
        afterIo(() => this.actions.deadlinePassed()),
        Math.max(0, remainingMs),
      );
    }
  }

  /** `running` times out in `ms`. */
  timeOut(running: Running, ms: number): void {
    running.timer = setTimeout(
      afterIo(() => this.actions.attemptTimedOut(running)),
      ms,
    );
  }

  /**
   * A hedge due for `running` was not sent: asked again in `ms` — no sooner than the caller's loop was late
   * (`lateMs`): an overloaded caller is asked seldom — its attempt timeout going on meanwhile.
   */
  hedgeAgain(running: Running, waitMs: number, lateMs: number): void {
    clearTimeout(this.again);
    const ms = Math.max(waitMs, lateMs);
    const dueAt = performance.now() + ms;
    this.again = setTimeout(
      afterIo(() => this.actions.hedgeDue(running, undefined, performance.now() - dueAt, ms)),
      ms,
    );
  }

  /** The call has settled: its own timers go (each attempt's goes as the attempt ends). */
  stop(): void {
    clearTimeout(this.deadline);
    clearTimeout(this.again);
  }
}
