/** No hedge from a timer this late: the caller's own event loop is overloaded (it is slow; more attempts add to it). */
const LATE_MS = 50;
/** How long after such a timer the caller counts as overloaded still. */
const OVERLOADED_FOR_MS = 250;

/**
 * Whether the caller itself is overloaded: one of its calls' timers fired more than 50 ms late in the last 250 ms.
 * Meanwhile the hedge timer of a call that starts is set for after that time (`hedgeDelay`): it fires only for a call
 * still unanswered then (one on a hung instance, whose hedge still goes out before its attempt timeout), and the
 * caller is spared the hedges
 * and the timers firing late, each asked again, of every slow call in between: they add to its load. Hedging bench,
 * one caller alone at 2,000 calls/s (twice what its process can serve): hedged calls were slower than unhedged ones
 * before (p99 532 against 340 ms over 10 runs); with this, 352 against 614 ms, above it in 1 run of 10, p50 1.55
 * against 1.54 (and at once with an unhedged caller, each at half the rate: 278 against 278 ms).
 * One per app: its event loop is that of every service's calls.
 */
export class CallerLoad {
  private overloadedUntil = -Infinity;

  /** A call's timer fired `lateMs` after it was due: whether that is too late to hedge (the caller is overloaded). */
  timerLate(lateMs: number): boolean {
    if (lateMs <= LATE_MS) return false;
    this.overloadedUntil = performance.now() + OVERLOADED_FOR_MS;
    return true;
  }

  /** How long the caller counts as overloaded still: 0 unless a timer was too late less than 250 ms ago. */
  get overloadedForMs(): number {
    return Math.max(0, this.overloadedUntil - performance.now());
  }

  /**
   * When the hedge of a call starting now goes out: after `hedgeAfterMs`, pushed back by what is left of the overload
   * — by half the time to the attempt timeout at most, so that a hedge is never pushed past it.
   */
  hedgeDelay(hedgeAfterMs: number, attemptTimeoutMs: number): number {
    const overloadedForMs = this.overloadedForMs;
    if (overloadedForMs === 0) return hedgeAfterMs;
    return hedgeAfterMs + Math.min(overloadedForMs, Math.max(0, attemptTimeoutMs - hedgeAfterMs) / 2);
  }
}
