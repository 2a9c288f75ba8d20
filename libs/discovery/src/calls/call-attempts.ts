import { Injectable } from '@nestjs/common';
import { isInFlightTracker } from '../balancing/load-balancing-strategy.js';
import { StrategyResolver } from '../picking/strategy-resolver.js';
import type { EndpointFilter } from '../picking/subset.js';
import { ServicePicks } from '../picking/service-picks.js';
import type { ServiceEndpoint } from '../service-endpoint.interface.js';
import { Attempt } from './attempt.js';
import { CallCounts, type CallCountsView } from './call-counts.js';
import type { CallOptions } from './call-options.interface.js';
import { CallPolicies, type ServiceCalls } from './call-policies.js';
import { CallRecorder, type CallRecord } from './call-record.js';
import { CallRun } from './call-run.js';
import type { AttemptContext, AttemptSource, RunSettings } from './run-settings.interface.js';
import { callSettings, type CallAnswers } from './call-settings.js';

/** A call whose every answer is its result. */
const NO_ANSWERS: CallAnswers<unknown> = {};

/**
 * The one path of every call through discovery — `DiscoveryClient.call()` and each `send()` or
 * `emit()` of a `DiscoveryClientsModule` client (an internal provider, the narrow seam between the
 * ways of calling and the rest, as grpc-js hands a balancer only its helper): which endpoint first,
 * which one next after a failure, and the bookkeeping of each attempt.
 */
@Injectable()
export class CallAttempts implements AttemptSource {
  private readonly counts = new CallCounts();
  /** The counts, read-only: what the dashboard shows and `DiscoveryClient.callCounts` gives. */
  readonly countsView: CallCountsView = this.counts.view;

  constructor(
    private readonly picks: ServicePicks,
    private readonly strategies: StrategyResolver,
    private readonly policies: CallPolicies,
    private readonly recorder: CallRecorder,
  ) {}

  /** Keeps each instance's last minute of calls from now on (what the dashboard shows). */
  keepLastMinute(): void {
    this.counts.keepLastMinute();
  }

  /** Calls in flight to the instance(s) of `service` with id `id`. */
  inFlightTo(service: string, id: string): number {
    return this.counts.inFlightTo(service, id);
  }

  /** The record (metrics, and a span when one is recorded) of a call to `service` that starts now. */
  telemetryOf(service: string, spanName: string): CallRecord {
    return this.recorder.start(service, spanName);
  }

  /**
   * A call to `service` (see `DiscoveryClient.call`): attempts with deadlines, retries, hedges and
   * the budget of its policy. Bad options throw at once.
   */
  call<T>(
    service: string,
    attemptFn: (endpoint: ServiceEndpoint, context: AttemptContext) => Promise<T>,
    options: CallOptions,
    answers: CallAnswers<T> = NO_ANSWERS,
  ): Promise<T> {
    const calls = this.policies.of(service);
    let settings: RunSettings<T>;
    try {
      settings = callSettings<T>(service, calls.policy, options, answers);
    } catch (error) {
      // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- rejects with what was thrown, as is
      return Promise.reject(error);
    }
    return new CallRun(this, calls, settings, attemptFn).start();
  }

  /** The endpoint a call starts on: its strategy's pick. @throws NoEndpointAvailableError when there is none. */
  first(
    service: string,
    key: string | undefined,
    where: EndpointFilter | undefined,
    telemetry?: CallRecord,
  ): ServiceEndpoint {
    try {
      return this.picks.pick(service, { key, where });
    } catch (error) {
      // The call ends before it began.
      if (telemetry === undefined) this.recorder.noEndpoint(service);
      else telemetry.callEnded('no_endpoint', 0);
      throw error;
    }
  }

  /**
   * An endpoint the call has not tried (`tried`: instance keys), after one could not be reached; undefined when none is
   * left.
   */
  next(
    service: string,
    tried: ReadonlySet<string>,
    key: string | undefined,
    where: EndpointFilter | undefined,
  ): ServiceEndpoint | undefined {
    return this.picks.pickAnother(service, tried, key, where);
  }

  /** The policy of `service`'s calls, with the budget and response times they share. */
  policyOf(service: string): ServiceCalls {
    return this.policies.of(service);
  }

  /** Starts an attempt on `endpoint`: counted, and in flight for a load-aware strategy until it finishes. */
  start(endpoint: ServiceEndpoint): Attempt {
    const strategy = this.strategies.forService(endpoint.service);
    return new Attempt(
      endpoint,
      this.picks,
      isInFlightTracker(strategy) ? strategy : undefined,
      this.counts.started(endpoint),
    );
  }
}
