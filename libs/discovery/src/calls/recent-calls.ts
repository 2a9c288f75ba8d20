/** The window is this many slots of `SLOT_MS`: the last minute, give or take the slot in course. */
const SLOTS = 6;
const SLOT_MS = 10_000;
/** Response times are counted in bins growing by a fifth, from 0.05 ms: a percentile is within ±10 %. */
const SMALLEST_MS = 0.05;
const GROWTH = 1.2;
const BINS = 80; // 0.05 ms × 1.2^79 ≈ 89 s: past any deadline
const LOG_GROWTH = Math.log(GROWTH);

/** This app's calls to one instance over the last minute. */
export interface LastMinute {
  /** Attempts that ended (answered, failed, unreachable or timed out). */
  calls: number;
  /** Answers that are errors (an error of the handler, an HTTP 502/503/504), and unreachable attempts. */
  errors: number;
  /** Attempts that got no answer in time. */
  timedOut: number;
  /**
   * Response times of answers and the silences waited out (unreachable attempts have none); undefined with no such
   * attempt.
   */
  p50Ms: number | undefined;
  p99Ms: number | undefined;
}

/** Each slot in one row of `data`: its period, its counts, then its histogram of response times. */
const PERIOD = 0;
const CALLS = 1;
const ERRORS = 2;
const TIMED_OUT = 3;
const FIRST_BIN = 4;
const ROW = FIRST_BIN + BINS;

/**
 * One instance's attempts over the last minute, in six slots of 10 s: counts and a histogram of
 * response times each. All in one typed array (2 KB, made when the instance is first called): an
 * attempt's end touches two of its cache lines, costs a logarithm and a few additions, allocates nothing.
 */
export class RecentCalls {
  /** The slots' rows; a slot's period is its start ÷ `SLOT_MS`, + 1 (0: never used). */
  private readonly data = new Uint32Array(SLOTS * ROW);

  constructor(private readonly now: () => number = () => performance.now()) {}

  /** An attempt ended: `error`, `timedOut`, and its response time (undefined when it has none). */
  record(error: boolean, timedOut: boolean, responseMs: number | undefined): void {
    const row = this.rowNow();
    const data = this.data;
    data[row + CALLS] += 1;
    if (error) data[row + ERRORS] += 1;
    if (timedOut) data[row + TIMED_OUT] += 1;
    if (responseMs !== undefined) data[row + FIRST_BIN + binOf(responseMs)] += 1;
  }

  /** The counts and percentiles of the slots within the last minute. */
  lastMinute(): LastMinute {
    const period = Math.floor(this.now() / SLOT_MS) + 1;
    const recent = { calls: 0, errors: 0, timedOut: 0 };
    const histogram = new Uint32Array(BINS);
    for (let row = 0; row < SLOTS * ROW; row += ROW) {
      const slotPeriod = this.data[row + PERIOD];
      if (slotPeriod === 0 || period - slotPeriod >= SLOTS) continue;
      recent.calls += this.data[row + CALLS];
      recent.errors += this.data[row + ERRORS];
      recent.timedOut += this.data[row + TIMED_OUT];
      for (let bin = 0; bin < BINS; bin += 1) histogram[bin] += this.data[row + FIRST_BIN + bin];
    }
    return { ...recent, p50Ms: percentile(histogram, 0.5), p99Ms: percentile(histogram, 0.99) };
  }

  /** The row of the slot of the period now, emptied if it held an older one. */
  private rowNow(): number {
    const period = Math.floor(this.now() / SLOT_MS) + 1;
    const row = (period % SLOTS) * ROW;
    if (this.data[row + PERIOD] !== period) {
      this.data.fill(0, row, row + ROW);
      this.data[row + PERIOD] = period;
    }
    return row;
  }
}

function binOf(ms: number): number {
  if (ms <= SMALLEST_MS) return 0;
  return Math.min(BINS - 1, Math.ceil(Math.log(ms / SMALLEST_MS) / LOG_GROWTH));
}

/** The response time at quantile `q` of `histogram`: the geometric middle of its bin; undefined when it is empty. */
function percentile(histogram: Uint32Array, q: number): number | undefined {
  let total = 0;
  for (const count of histogram) total += count;
  if (total === 0) return undefined;
  const rank = Math.ceil(q * total);
  let seen = 0;
  for (let bin = 0; bin < BINS; bin += 1) {
    seen += histogram[bin];
    if (seen >= rank) return bin === 0 ? SMALLEST_MS : SMALLEST_MS * GROWTH ** (bin - 0.5);
  }
  return undefined;
}
