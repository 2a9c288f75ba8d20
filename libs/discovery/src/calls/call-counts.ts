import type { ServiceEndpoint } from '../service-endpoint.interface.js';
import { instanceKey } from '../codec/instance-key.js';

/** This app's calls to one instance, through `call()` and its client proxies. */
export interface InstanceCalls {
  service: string;
  /** `id@address`. */
  instance: string;
  /** Calls started (each attempt of a failover counts). */
  calls: number;
  /** Attempts that could not reach the instance (refused, reset, timed out before an answer). */
  unreachable: number;
  inFlight: number;
}

/** One instance's counts, handed to the caller so that the end of a call costs no lookup. */
class Counter implements InstanceCalls {
  calls = 0;
  unreachable = 0;
  inFlight = 0;

  constructor(
    readonly service: string,
    readonly instance: string,
    private readonly counts: { changes: number },
  ) {}

  finished(unreachable: boolean): void {
    this.inFlight -= 1;
    if (unreachable) this.unreachable += 1;
    this.counts.changes += 1;
  }
}

/** Counts of this app's calls per instance (the dashboard shows them); instances are kept until the app stops. */
export class CallCounts {
  private readonly counters = new Map<string, Counter>();
  /** Calls started and finished so far (the counters add theirs). */
  private readonly tally = { changes: 0 };

  started(endpoint: ServiceEndpoint): { finished(unreachable: boolean): void } {
    const id = idOf(endpoint);
    let counter = this.counters.get(id);
    if (counter === undefined) this.counters.set(id, (counter = new Counter(endpoint.service, instanceKey(endpoint), this.tally)));
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
      .map(({ service, instance, calls, unreachable, inFlight }) => ({ service, instance, calls, unreachable, inFlight }))
      .sort((a, b) => (a.service === b.service ? (a.instance < b.instance ? -1 : 1) : a.service < b.service ? -1 : 1));
  }
}

function idOf(endpoint: ServiceEndpoint): string {
  return `${endpoint.service}/${instanceKey(endpoint)}`;
}
