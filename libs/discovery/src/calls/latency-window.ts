/** How many recent answers the percentile is taken over. */
const SAMPLES = 128;
/** Answers needed before the percentile is trusted. */
const ENOUGH = 20;
/** The percentile is taken again after this many new answers. */
const RECOMPUTE_EVERY = 16;

/**
 * One service's recent response times, and their 95th percentile: when an adaptive hedge goes out
 * ("The Tail at Scale": after the p95, a hedge costs about 5 % more attempts and cuts the tail).
 * Fixed buffers, taken again every 16 answers: an answer costs a store, never an allocation.
 */
export class LatencyWindow {
  private readonly samples = new Float64Array(SAMPLES);
  private readonly sorted = new Float64Array(SAMPLES);
  private count = 0;
  private sinceComputed = 0;
  private p95 = Number.NaN;

  record(responseMs: number): void {
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
