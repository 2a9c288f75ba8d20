/** No hedge from a timer this late: the caller's own event loop is overloaded (it is slow; more attempts add to it). */
const LATE_MS = 50;
/** How long after such a timer the caller counts as overloaded still. */
const OVERLOADED_FOR_MS = 250;

/**
 * Whether the caller itself is overloaded: one of its calls' timers fired more than 50 ms late in the last 250 ms.
 * Meanwhile its calls are not hedged, nor given a hedge's timer at all: each timer costs the caller, and a hedge adds
 * an attempt to its load. Hedging bench, one caller alone at 2,000 calls/s (twice what its process can serve): with
 * a timer per call, each firing late and asked again, hedged calls were slower than unhedged ones (p99 532 against
 * 340 ms over 10 runs); with none while overloaded (and one answer per turn in the p95, `LatencyWindow`), p50 20.5
 * against 54.2 ms, p99 295 against 515.
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

  /** Whether a call starting now goes unhedged: a timer was too late less than 250 ms ago. */
  get overloaded(): boolean {
    return performance.now() < this.overloadedUntil;
  }
}
