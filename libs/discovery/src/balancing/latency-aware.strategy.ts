import { messages } from '../discovery.messages.js';
import { DiscoveryOptionsError } from '../errors.js';
import type { ServiceEndpoint } from '../service-endpoint.interface.js';
import { ServiceLoad, type EndpointLoad } from './endpoint-loads.js';
import type { InFlightTracker, LoadBalancingStrategy, PickContext } from './load-balancing-strategy.js';

/** Options of `LatencyAwareStrategy`. */
export interface LatencyAwareOptions {
  /**
   * How fast what was learnt fades: a response time weighs e^(−age / decayMs). Also how long an
   * endpoint that answered slowly once is avoided before it is tried again.
   * @default 10000
   */
  decayMs?: number;
  /** Random numbers in [0, 1), for tests. @default Math.random */
  random?: () => number;
}

/** The score of an endpoint with no cost yet but calls in flight: worse than any measured one (as Finagle does). */
const UNANSWERED_PENALTY = 1e9;

/**
 * Load-aware balancing as Finagle and linkerd do it: power of two choices over each endpoint's cost
 * × (calls in flight + 1). The cost is a peak-sensitive moving average of response times ("peak
 * EWMA"): a slower answer raises it at once, faster ones bring it down gradually, and it fades
 * towards zero while nothing is heard (`decayMs`), so an endpoint avoided for being slow is tried
 * again in time. A new endpoint starts at the median of the service's recent response times — not
 * at zero, which would send it every call until its first answer — and its first answer replaces it.
 *
 * It learns from calls made through `DiscoveryClient.call()`, `fetch()` and `DiscoveryClientsModule`
 * clients; a bare `pick()` tells it nothing about how the call went. Answers count as response times
 * (errors included), and so does the wait of an attempt that timed out; a refused connection is
 * outlier ejection's business. Silence counts too: while calls to an endpoint are pending, the time
 * since it was last heard from weighs as its cost whenever that is longer, so a frozen instance
 * loses its share as its calls wait, before any deadline.
 */
export class LatencyAwareStrategy implements LoadBalancingStrategy, InFlightTracker {
  private readonly services = new Map<string, ServiceLoad>();
  /**
   * The time of the last call event (start or end): what picks fade costs to. Reading the clock costs
   * more than the rest of a pick; costs fade over seconds, and a pick comes right after the calls
   * before it, so the time of the last one is close enough.
   */
  private lastEventAt = performance.now();
  private readonly decayMs: number;
  private readonly random: () => number;

  constructor({ decayMs = 10_000, random = Math.random }: LatencyAwareOptions = {}) {
    if (typeof decayMs !== 'number' || !(decayMs > 0) || !Number.isFinite(decayMs))
      throw new DiscoveryOptionsError(messages.badDecay(decayMs));
    this.decayMs = decayMs;
    this.random = random;
  }

  callStarted(endpoint: ServiceEndpoint): void {
    const now = (this.lastEventAt = performance.now());
    const load = this.loadOf(this.serviceLoad(endpoint.service), endpoint, now);
    if (load.inFlight === 0) load.heardAt = now;
    load.inFlight += 1;
  }

  /** `responseMs`: how long the endpoint took to answer; undefined when it did not answer. */
  callFinished(endpoint: ServiceEndpoint, responseMs?: number): void {
    const service = this.serviceLoad(endpoint.service);
    const now = (this.lastEventAt = performance.now());
    const load = this.loadOf(service, endpoint, now);
    if (load.inFlight > 0) load.inFlight -= 1;
    load.heardAt = now;
    if (responseMs === undefined || !(responseMs >= 0)) return;
    // Peak-sensitive: a slower answer counts in full at once; a faster one is averaged in, weighed by
    // the time since the last (Finagle's PeakEwma): cost·w + response·(1 − w), w = e^(−age / decayMs).
    const weight = Math.exp(-Math.max(0, now - load.stamp) / this.decayMs);
    const decayed = load.costMs * weight;
    load.costMs = responseMs > decayed || !load.answered ? responseMs : decayed + responseMs * (1 - weight);
    load.answered = true;
    load.stamp = now;
    load.fadedAt = -1;
    service.record(responseMs);
  }

  /**
   * The score picks compare (lower is better): cost × (calls in flight + 1); the service's median for an endpoint not
   * called yet.
   */
  score(endpoint: ServiceEndpoint): number {
    const service = this.services.get(endpoint.service);
    const load = service?.loads.get(endpoint);
    if (load === undefined) return service?.median() ?? 0;
    return this.scoreOf(load, this.lastEventAt);
  }

  pick(endpoints: readonly ServiceEndpoint[], { service }: PickContext): ServiceEndpoint | undefined {
    const count = endpoints.length;
    if (count <= 1) return endpoints[0];
    const first = Math.min(count - 1, Math.floor(this.random() * count));
    // The second draw skips the first, so the two are always different.
    let second = Math.min(count - 2, Math.floor(this.random() * (count - 1)));
    if (second >= first) second += 1;
    const a = endpoints[first];
    const b = endpoints[second];
    const learnt = this.services.get(service);
    if (learnt === undefined) return a; // nothing learnt yet: a tie, which goes to the first drawn
    // Nothing is allocated here: an endpoint not called yet is scored at the service's median.
    const loadA = learnt.loadAt(endpoints, first);
    const loadB = learnt.loadAt(endpoints, second);
    if (loadA === undefined && loadB === undefined) return a;
    const now = this.lastEventAt;
    const scoreA = loadA === undefined ? learnt.median() : this.scoreOf(loadA, now);
    const scoreB = loadB === undefined ? learnt.median() : this.scoreOf(loadB, now);
    return scoreB < scoreA ? b : a;
  }

  /**
   * Cost × (calls in flight + 1), where a wait longer than the cost (silence, while calls are pending) counts as the
   * cost.
   */
  private scoreOf(load: EndpointLoad, now: number): number {
    let cost = this.costAt(load, now);
    if (load.inFlight > 0) cost = Math.max(cost, now - load.heardAt);
    if (cost === 0 && load.inFlight > 0) return UNANSWERED_PENALTY + load.inFlight;
    return cost * (load.inFlight + 1);
  }

  /** The cost faded for the time since it was last observed; worked out once per point in time. */
  private costAt(load: EndpointLoad, now: number): number {
    if (load.fadedAt !== now) {
      const age = now - load.stamp;
      load.faded = age <= 0 || load.costMs === 0 ? load.costMs : load.costMs * Math.exp(-age / this.decayMs);
      load.fadedAt = now;
    }
    return load.faded;
  }

  private serviceLoad(service: string): ServiceLoad {
    let load = this.services.get(service);
    if (load === undefined) this.services.set(service, (load = new ServiceLoad()));
    return load;
  }

  /** The load of `endpoint`, first seen now: it starts at the service's median. */
  private loadOf(service: ServiceLoad, endpoint: ServiceEndpoint, now: number): EndpointLoad {
    let load = service.loads.get(endpoint);
    if (load === undefined) {
      const costMs = service.median();
      load = { costMs, faded: costMs, fadedAt: now, answered: false, stamp: now, inFlight: 0, heardAt: now };
      service.loads.set(endpoint, load);
    }
    return load;
  }
}
