import type { ServiceEndpoint } from '../service-endpoint.interface.js';
import { instanceKey } from '../codec/instance-key.js';
import { RecentCalls, type LastMinute } from './recent-calls.js';

export type { LastMinute };

/** This app's calls to one instance, through `call()` and its client proxies. */
export interface InstanceCalls {
  service: string;
  /** `id@address`. */
  instance: string;
  /** Calls started (each attempt of a failover counts). */
  calls: number;
  /** Attempts that could not reach the instance (refused, reset before an answer). */
  unreachable: number;
  /** Answers that are errors: an error of the handler, an HTTP 502/503/504 (`fetch()`). */
  errors: number;
  /** Attempts that got no answer in time (`attemptTimeoutMs`, a hedge answered first, the call's `timeoutMs`). */
  timedOut: number;
  inFlight: number;
  /**
   * The attempts that ended in the last minute: how many, errors (answers that are errors, and
   * unreachable), timeouts, and p50/p99 response times. Kept from the first time this app's counts
   * are read (the dashboard reads them from the start), so that nobody pays for it unread: empty until then.
   */
  readonly lastMinute: LastMinute;
}

/** How an attempt ended, as the counts see it: `error` is an answer that is an error. */
export type CountedOutcome = 'answered' | 'error' | 'unreachable' | 'timeout' | 'abandoned';

/** What an attempt tells its instance's counts when it ends, with its response time (or the silence waited out). */
export interface InstanceCounter {
  finished(outcome: CountedOutcome, responseMs: number | undefined): void;
}

/** This app's calls per instance, read-only: `DiscoveryClient.callCounts`, and what the dashboard shows. */
export interface CallCountsView {
  /** Grows with every call started or finished: whether anything changed since it was last read. */
  readonly changes: number;
  /** The counts of the instance `endpoint` is, if this app called it. */
  of(endpoint: ServiceEndpoint): Readonly<InstanceCalls> | undefined;
  /** A copy of every count, by service then instance. */
  snapshot(): InstanceCalls[];
}

/** One instance's counts, handed to the caller so that the end of a call costs no lookup. */
class Counter implements InstanceCalls, InstanceCounter {
  calls = 0;
  unreachable = 0;
  errors = 0;
  timedOut = 0;
  inFlight = 0;
  /** Made at the first attempt that ends once the last minute is kept. */
  private recent: RecentCalls | undefined;

  constructor(
    readonly service: string,
    readonly instance: string,
    private readonly counts: Tally,
  ) {}

  finished(outcome: CountedOutcome, responseMs: number | undefined): void {
    this.inFlight -= 1;
    this.counts.changes += 1;
    if (outcome === 'abandoned') return;
    if (outcome === 'unreachable') this.unreachable += 1;
    else if (outcome === 'timeout') this.timedOut += 1;
    else if (outcome === 'error') this.errors += 1;
    if (!this.counts.keepLastMinute) return;
    this.recent ??= new RecentCalls();
    this.recent.record(
      outcome === 'error' || outcome === 'unreachable',
      outcome === 'timeout',
      outcome === 'unreachable' ? undefined : responseMs,
    );
  }

  get lastMinute(): LastMinute {
    this.counts.keepLastMinute = true;
    return this.recent?.lastMinute() ?? { calls: 0, errors: 0, timedOut: 0, p50Ms: undefined, p99Ms: undefined };
  }
}

/** What every counter shares: the changes so far, and whether the last minute is kept. */
interface Tally {
  changes: number;
  /**
   * Set once anyone reads the counts: a window per instance costs a cold cache line or two per
   * call when a service's calls spread over thousands of instances (0.46 µs a call at 10,000).
   */
  keepLastMinute: boolean;
}

/** Counts of this app's calls per instance; instances are kept until the app stops. */
export class CallCounts implements CallCountsView {
  private readonly counters = new Map<string, Counter>();
  private readonly byEndpoint = new WeakMap<ServiceEndpoint, Counter>();
  /** Calls started and finished so far (the counters add theirs), and whether the last minute is kept. */
  private readonly tally: Tally = { changes: 0, keepLastMinute: false };
  /** The counts as whoever only reads them sees them: no way to count a call from there. */
  readonly view: CallCountsView;

  constructor() {
    const tally = this.tally;
    this.view = {
      get changes() {
        return tally.changes;
      },
      of: (endpoint) => this.of(endpoint),
      snapshot: () => this.snapshot(),
    };
  }

  /** Keeps each instance's last minute from now on (the dashboard asks at start; reading any count does too). */
  keepLastMinute(): void {
    this.tally.keepLastMinute = true;
  }

  started(endpoint: ServiceEndpoint): InstanceCounter {
    // By the endpoint object first: it stays the same while the endpoint does, and needs no key built.
    let counter = this.byEndpoint.get(endpoint);
    if (counter === undefined) {
      const id = idOf(endpoint);
      counter = this.counters.get(id);
      if (counter === undefined)
        this.counters.set(id, (counter = new Counter(endpoint.service, instanceKey(endpoint), this.tally)));
      this.byEndpoint.set(endpoint, counter);
    }
    counter.calls += 1;
    counter.inFlight += 1;
    this.tally.changes += 1;
    return counter;
  }

  /** Grows with every call started or finished: whether anything changed since it was last read. */
  get changes(): number {
    return this.tally.changes;
  }

  /** The counts of the instance `endpoint` is, if this app called it. */
  of(endpoint: ServiceEndpoint): InstanceCalls | undefined {
    this.keepLastMinute();
    return this.counters.get(idOf(endpoint));
  }

  /** Calls in flight to the instance(s) of `service` with id `id` (what `drain --wait` waits to see at 0). */
  inFlightTo(service: string, id: string): number {
    let inFlight = 0;
    for (const counter of this.counters.values())
      if (counter.service === service && counter.instance.startsWith(`${id}@`)) inFlight += counter.inFlight;
    return inFlight;
  }

  /** A copy of every count, by service then instance. */
  snapshot(): InstanceCalls[] {
    this.keepLastMinute();
    return [...this.counters.values()]
      .map(({ service, instance, calls, unreachable, errors, timedOut, inFlight, lastMinute }) => ({
        service,
        instance,
        calls,
        unreachable,
        errors,
        timedOut,
        inFlight,
        lastMinute,
      }))
      .sort((a, b) => (a.service === b.service ? (a.instance < b.instance ? -1 : 1) : a.service < b.service ? -1 : 1));
  }
}

function idOf(endpoint: ServiceEndpoint): string {
  return `${endpoint.service}/${instanceKey(endpoint)}`;
}
