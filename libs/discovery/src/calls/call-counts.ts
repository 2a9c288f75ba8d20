import type { ServiceEndpoint } from '../service-endpoint.interface.js';
import { instanceKey } from '../codec/instance-key.js';

/** This app's calls to one instance, through `call()` and its client proxies. */
export interface InstanceCalls {
  service: string;
  /** `id@address`. */
  instance: string;
  /** Calls started (each attempt of a failover counts). */
  calls: number;
  /** Attempts that could not reach the instance (refused, reset before an answer). */
  unreachable: number;
  /** Attempts that got no answer in time (`attemptTimeoutMs`, a hedge answered first, the call's `timeoutMs`). */
  timedOut: number;
  inFlight: number;
}

/** How an attempt ended, as the counts see it. */
export type CountedOutcome = 'answered' | 'unreachable' | 'timeout' | 'abandoned';

/** What an attempt tells its instance's counts when it ends. */
export interface InstanceCounter {
  finished(outcome: CountedOutcome): void;
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
  timedOut = 0;
  inFlight = 0;

  constructor(
    readonly service: string,
    readonly instance: string,
    private readonly counts: { changes: number },
  ) {}

  finished(outcome: CountedOutcome): void {
    this.inFlight -= 1;
    if (outcome === 'unreachable') this.unreachable += 1;
    else if (outcome === 'timeout') this.timedOut += 1;
    this.counts.changes += 1;
  }
}

/** Counts of this app's calls per instance; instances are kept until the app stops. */
export class CallCounts implements CallCountsView {
  private readonly counters = new Map<string, Counter>();
  private readonly byEndpoint = new WeakMap<ServiceEndpoint, Counter>();
  /** Calls started and finished so far (the counters add theirs). */
  private readonly tally = { changes: 0 };
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

  started(endpoint: ServiceEndpoint): InstanceCounter {
    // By the endpoint object first: it stays the same while the endpoint does, and needs no key built.
    let counter = this.byEndpoint.get(endpoint);
    if (counter === undefined) {
      const id = idOf(endpoint);
      counter = this.counters.get(id);
      if (counter === undefined) this.counters.set(id, (counter = new Counter(endpoint.service, instanceKey(endpoint), this.tally)));
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
    return this.counters.get(idOf(endpoint));
  }

  /** A copy of every count, by service then instance. */
  snapshot(): InstanceCalls[] {
    return [...this.counters.values()]
      .map(({ service, instance, calls, unreachable, timedOut, inFlight }) => ({ service, instance, calls, unreachable, timedOut, inFlight }))
      .sort((a, b) => (a.service === b.service ? (a.instance < b.instance ? -1 : 1) : a.service < b.service ? -1 : 1));
  }
}

function idOf(endpoint: ServiceEndpoint): string {
  return `${endpoint.service}/${instanceKey(endpoint)}`;
}
