/** Seconds of history the budget looks at. */
const WINDOW_SECONDS = 10;
/** The same, in milliseconds. */
export const BUDGET_WINDOW_MS = WINDOW_SECONDS * 1000;

/**
 * How many retries and hedges one service's calls may still make: at most `percent` of its calls
 * over the last 10 s, and never fewer than `minPerSecond` a second (as Finagle's RetryBudget, and
 * Envoy's retry budget of 20 % of active requests). Counts live in ten one-second buckets, so every
 * call costs two additions whatever the rate.
 */
export class RetryBudget {
  private readonly calls = new Float64Array(WINDOW_SECONDS);
  private readonly extras = new Float64Array(WINDOW_SECONDS);
  private callsInWindow = 0;
  private extrasInWindow = 0;
  private second = 0;

  constructor(
    private readonly percent: number,
    private readonly minPerSecond: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** A call started: it adds `percent` of a retry to what the service may spend. */
  callStarted(): void {
    const bucket = this.advance();
    this.calls[bucket] += 1;
    this.callsInWindow += 1;
  }

  /** Takes one retry or hedge from the budget; false when it is spent (nothing is taken then). */
  tryWithdraw(): boolean {
    if (!this.hasRoom()) return false;
    this.extras[this.second % WINDOW_SECONDS] += 1;
    this.extrasInWindow += 1;
    return true;
  }

  /** Whether one more retry or hedge fits now (nothing is taken). */
  hasRoom(): boolean {
    this.advance();
    const allowed = Math.max((this.percent / 100) * this.callsInWindow, this.minPerSecond * WINDOW_SECONDS);
    return this.extrasInWindow + 1 <= allowed;
  }

  /** Forgets the seconds that left the window; returns the current second's bucket. */
  private advance(): number {
    const second = Math.floor(this.now() / 1000);
    const elapsed = second - this.second;
    if (elapsed > 0) {
      for (let step = 1; step <= Math.min(elapsed, WINDOW_SECONDS); step += 1) {
        const bucket = (this.second + step) % WINDOW_SECONDS;
        this.callsInWindow -= this.calls[bucket];
        this.extrasInWindow -= this.extras[bucket];
        this.calls[bucket] = 0;
        this.extras[bucket] = 0;
      }
      this.second = second;
    }
    return second % WINDOW_SECONDS;
  }
}
