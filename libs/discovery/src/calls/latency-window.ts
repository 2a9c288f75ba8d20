import { loopTurn } from './loop-turn.js';

/** How many recent answers the percentile is taken over. */
const SAMPLES = 128;
/** Answers needed before the percentile is trusted. */
const ENOUGH = 20;
/** The percentile is taken again after this many new answers. */
const RECOMPUTE_EVERY = 16;

/**
 * One service's recent response times, and their 95th percentile: when an adaptive hedge goes out
 * ("The Tail at Scale": after the p95, a hedge costs about 5 % more attempts and cuts the tail).
 * Fixed buffers, taken again every 16 answers: an answer costs a store, never an allocation of its own (`loopTurn`
 * sets one `setImmediate` a turn for the whole process).
 *
 * One answer per turn of the event loop is recorded (`loopTurn`). A pause of the caller itself (a GC, a long task)
 * makes every answer in flight late at once, and they are all read in the turn after it: counted one by one, a single
 * pause of 50 ms at 1,000 calls/s filled the window's top 5 % and set the hedge delay to the pause for the next 128
 * answers (hedging bench: 5–10 % of calls with a delay of 20 to over 100 ms in its bad runs). The first answer read in
 * a turn is kept: a sample of the answers when a busy caller reads several a turn, the same for a slow instance's as
 * for any other.
 */
export class LatencyWindow {
  private readonly samples = new Float64Array(SAMPLES);
  private readonly sorted = new Float64Array(SAMPLES);
  private count = 0;
  private sinceComputed = 0;
  private p95 = Number.NaN;
  private lastTurn = -1;

  record(responseMs: number): void {
    const turn = loopTurn();
    if (turn === this.lastTurn) return;
    this.lastTurn = turn;
    this.samples[this.count % SAMPLES] = responseMs;
    this.count += 1;
    this.sinceComputed += 1;
  }

  /** The 95th percentile of the recent answers; NaN until 20 are known. Taken when read (only hedged calls read it). */
  get percentile95(): number {
    if (this.count >= ENOUGH && (Number.isNaN(this.p95) || this.sinceComputed >= RECOMPUTE_EVERY)) this.compute();
    return this.p95;
  }

  private compute(): void {
    const size = Math.min(this.count, SAMPLES);
    if (size === SAMPLES) {
      this.sorted.set(this.samples);
      this.sorted.sort();
    } else {
      const view = this.sorted.subarray(0, size);
      view.set(this.samples.subarray(0, size));
      view.sort();
    }
    this.p95 = this.sorted[Math.min(size - 1, Math.ceil(0.95 * size) - 1)]!;
    this.sinceComputed = 0;
  }
}
