import type { ServiceEndpoint } from '../service-endpoint.interface.js';
import type { CallRecord } from './call-record.js';
import type { Attempt, AttemptOutcome } from './attempt.js';
import { LazyAttemptContext } from './attempt-signal.js';
import { ATTEMPT_METRIC, attemptKind } from './call-outcomes.js';
import type { Running } from './run-settings.interface.js';

/**
 * The attempts of one call, in the order they started, and how each one ends: its timer cleared, its
 * record finished, its end reported. Apart from `CallRun`, which decides what to try and when the call
 * is over, so that an attempt ends the same way whatever ended it — an answer, a timeout, the deadline.
 */
export class RunningAttempts {
  /** Every attempt so far, the first first. */
  readonly all: Running[] = [];

  constructor(private readonly telemetry: CallRecord) {}

  /** A new attempt on `endpoint`, numbered after those before it. */
  add(endpoint: ServiceEndpoint, record: Attempt, isHedge: boolean): Running {
    const context = new LazyAttemptContext(this.all.length + 1, this.telemetry.span);
    const running: Running = { endpoint, record, context, isHedge, timer: undefined, done: false };
    this.all.push(running);
    return running;
  }

  get count(): number {
    return this.all.length;
  }

  anyInFlight(): boolean {
    return this.all.some((running) => !running.done);
  }

  end(running: Running, outcome: AttemptOutcome, reported = ATTEMPT_METRIC[outcome]): void {
    running.done = true;
    clearTimeout(running.timer);
    running.record.finish(outcome, reported === 'error');
    this.telemetry.attemptEnded(running.endpoint.address, reported, attemptKind(running, this.all));
  }

  /**
   * Ends each attempt still in flight as `outcome` says, and aborts its signal with `reason` — or, given
   * `finishWithinMs` (its attempt timeout), lets it finish, aborting it only once that has passed.
   */
  endInFlight(outcome: (running: Running) => AttemptOutcome, reason: string, finishWithinMs?: number): void {
    for (const running of this.all) {
      if (running.done) continue;
      this.end(running, outcome(running));
      if (finishWithinMs === undefined) running.context.abort(new Error(reason));
      else {
        // Unref'd: a loser never keeps the process alive; cleared when its answer comes (`CallRun`).
        running.timer = setTimeout(
          () => running.context.abort(new Error('attempt timed out')),
          Math.max(0, finishWithinMs - running.record.elapsedMs),
        ).unref();
      }
    }
  }
}
