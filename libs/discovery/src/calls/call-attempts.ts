import { Injectable } from '@nestjs/common';
import { isInFlightTracker, type InFlightTracker } from '../balancing/load-balancing-strategy.js';
import { StrategyResolver } from '../balancing/strategy-resolver.js';
import type { EndpointFilter } from '../picking/subset.js';
import { ServicePicks } from '../picking/service-picks.js';
import type { ServiceEndpoint } from '../service-endpoint.interface.js';
import { CallCounts, type CallCountsView, type InstanceCounter } from './call-counts.js';

/** How an attempt ended. */
export type AttemptOutcome =
  /** The instance answered: a result, or an error of its own. */
  | 'answered'
  /** It could not be reached: refused, reset, no answer before the connection failed. */
  | 'unreachable'
  /** Given up by the caller before either (a cancelled call): no outcome is reported. */
  | 'abandoned';

/** One attempt of a call on one endpoint, from `CallAttempts.start()` to `finish()`. */
export class Attempt {
  private readonly startedAt = performance.now();
  private responseMs: number | undefined;
  private finished = false;

  constructor(
    readonly endpoint: ServiceEndpoint,
    private readonly picks: ServicePicks,
    private readonly tracker: InFlightTracker | undefined,
    private readonly counter: InstanceCounter,
  ) {
    tracker?.callStarted(endpoint);
  }

  /** The instance answered (a first message, or the result): its response time is taken now, once. */
  answered(): void {
    this.responseMs ??= performance.now() - this.startedAt;
  }

  /** Whether an answer came before the end. */
  get hasAnswered(): boolean {
    return this.responseMs !== undefined;
  }

  /**
   * Ends the attempt, once: outlier ejection hears whether the instance answered or could not be
   * reached, a load-aware strategy the response time (of an answer only), the counts the end.
   */
  finish(outcome: AttemptOutcome): void {
    if (this.finished) return;
    this.finished = true;
    if (outcome === 'answered') {
      this.answered();
      this.picks.reportSuccess(this.endpoint);
    } else if (outcome === 'unreachable') {
      this.picks.reportFailure(this.endpoint);
    }
    this.tracker?.callFinished(this.endpoint, outcome === 'unreachable' ? undefined : this.responseMs);
    this.counter.finished(outcome === 'unreachable');
  }
}

/**
 * The one path of every call through discovery — `DiscoveryClient.call()` and each `send()` or
 * `emit()` of a `DiscoveryClientsModule` client (an internal provider, the narrow seam between the
 * ways of calling and the rest, as grpc-js hands a balancer only its helper): which endpoint first,
 * which one next after a failure, and the bookkeeping of each attempt.
 */
@Injectable()
export class CallAttempts {
  private readonly counts = new CallCounts();
  /** The counts, read-only: what the dashboard shows and `DiscoveryClient.callCounts` gives. */
  readonly countsView: CallCountsView = this.counts.view;

  constructor(
    private readonly picks: ServicePicks,
    private readonly strategies: StrategyResolver,
  ) {}

  /** The endpoint a call starts on: its strategy's pick. @throws NoEndpointAvailableError when there is none. */
  first(service: string, key: string | undefined, where: EndpointFilter | undefined): ServiceEndpoint {
    return this.picks.pick(service, { key, where });
  }

  /** An endpoint the call has not tried (`tried`: instance keys), after one could not be reached; undefined when none is left. */
  next(service: string, tried: ReadonlySet<string>, key: string | undefined, where: EndpointFilter | undefined): ServiceEndpoint | undefined {
    return this.picks.pickAnother(service, tried, key, where);
  }

  /** Starts an attempt on `endpoint`: counted, and in flight for a load-aware strategy until it finishes. */
  start(endpoint: ServiceEndpoint): Attempt {
    const strategy = this.strategies.forService(endpoint.service);
    return new Attempt(endpoint, this.picks, isInFlightTracker(strategy) ? strategy : undefined, this.counts.started(endpoint));
  }
}
