import type { ServiceEndpoint } from '../service-endpoint.interface.js';

/**
 * What is known of one endpoint: its cost (a peak-sensitive EWMA of response times), when it was last observed, calls
 * in flight.
 */
export interface EndpointLoad {
  costMs: number;
  /** `costMs` faded to the time `fadedAt`: picks between two call events reuse it. */
  faded: number;
  fadedAt: number;
  /** Its own answers have been heard: until then the cost is the service's median, a stand-in. */
  answered: boolean;
  stamp: number;
  inFlight: number;
  /**
   * While calls are in flight: when it last gave a sign of life — an answer, a failure, or the start
   * of the wait. The silence since weighs as a response time (a frozen instance loses its share
   * before any deadline fires).
   */
  heardAt: number;
}

const RECENT_SAMPLES = 64;
const MEDIAN_REFRESH = 8;

/** Per service: each endpoint's load, and the last response times, for the cost a new endpoint starts at. */
export class ServiceLoad {
  readonly loads = new WeakMap<ServiceEndpoint, EndpointLoad>();
  /**
   * The loads of each list picked from, by position, filled as picks meet them: a pick in a list it
   * has met before reads two array entries instead of hashing two endpoints (a list is never changed
   * in place, so a position always holds the same endpoint).
   */
  private readonly byPosition = new WeakMap<readonly ServiceEndpoint[], (EndpointLoad | undefined)[]>();
  private lastList: readonly ServiceEndpoint[] | undefined;
  private lastPositions: (EndpointLoad | undefined)[] = [];
  /** The last RECENT_SAMPLES response times of the service, a ring. */
  private readonly recent = new Float64Array(RECENT_SAMPLES);
  private recorded = 0;
  private medianMs = 0;
  /** `recorded` when the median was last computed. */
  private medianAt = 0;

  /** The load of `list[index]`, if it has one. */
  loadAt(list: readonly ServiceEndpoint[], index: number): EndpointLoad | undefined {
    if (list !== this.lastList) {
      let positions = this.byPosition.get(list);
      if (positions === undefined) this.byPosition.set(list, (positions = []));
      this.lastList = list;
      this.lastPositions = positions;
    }
    let load = this.lastPositions[index];
    if (load === undefined) {
      load = this.loads.get(list[index]);
      if (load !== undefined) this.lastPositions[index] = load;
    }
    return load;
  }
  record(responseMs: number): void {
    this.recent[this.recorded % RECENT_SAMPLES] = responseMs;
    this.recorded += 1;
  }

  /** The median of the last response times of the service (0 before the first): where a new endpoint starts. */
  median(): number {
    // Refreshed when the samples have doubled since, or MEDIAN_REFRESH more came: not on every one.
    if (this.recorded > 0 && this.recorded - this.medianAt >= Math.min(MEDIAN_REFRESH, Math.max(1, this.medianAt))) {
      const samples = this.recent.slice(0, Math.min(this.recorded, RECENT_SAMPLES)).sort();
      this.medianMs = samples[samples.length >> 1]!;
      this.medianAt = this.recorded;
    }
    return this.medianMs;
  }
}
