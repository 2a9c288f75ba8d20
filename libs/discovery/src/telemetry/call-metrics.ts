import { Inject, Injectable } from '@nestjs/common';
import type { AttemptKind, AttemptMetricOutcome, CallMetricOutcome } from '../calls/call-record.js';
import { RESOLVED_DISCOVERY_OPTIONS } from '../discovery.constants.js';
import type { ResolvedDiscoveryOptions } from '../options/discovery-module-options.interface.js';
import { discoveryMeter, type MetricAttributes, type RecordInstrument } from './discovery-meter.js';

/**
 * The metrics of calls through discovery (an internal provider): `discovery.call.duration`, one
 * point per call in seconds, and `discovery.call.attempts`, one per attempt — by service and
 * outcome (and kind). Without `@opentelemetry/api` installed it records nothing and costs a check.
 * Attribute sets are made once per service and outcome: recording allocates nothing; attempts are
 * totalled here and reported when the SDK collects (an addition per attempt, not an SDK call).
 * With `metrics.perInstance`, attempts are also by `server.address`: a series per instance called.
 */
@Injectable()
export class CallMetrics {
  private readonly duration: RecordInstrument | undefined;
  /** `@opentelemetry/api` is installed: attempts are totalled. */
  private readonly enabled: boolean;
  /** Attempts are by instance as well (`metrics.perInstance`). */
  private readonly perInstance: boolean;
  /**
   * Per service, then per instance address (`''` unless per instance), then by outcome (calls) or
   * `kind outcome` (attempts): the attribute set, and for attempts the total.
   */
  private readonly series = new Map<string, Map<string, Map<string, Series>>>();

  constructor(@Inject(RESOLVED_DISCOVERY_OPTIONS) options: Pick<ResolvedDiscoveryOptions, 'metrics'>) {
    this.perInstance = options.metrics.perInstance;
    const meter = discoveryMeter();
    this.duration = meter?.histogram(
      'discovery.call.duration',
      'Duration of calls through discovery: call(), fetch(), client proxies',
      's',
    );
    meter?.observableCounter(
      'discovery.call.attempts',
      'Attempts of calls through discovery, by outcome and kind (first, retry, hedge)',
      '{attempt}',
      (observe) => {
        for (const ofService of this.series.values()) {
          for (const ofInstance of ofService.values()) {
            for (const { attributes, total } of ofInstance.values()) if (total > 0) observe(total, attributes);
          }
        }
      },
    );
    this.enabled = meter !== undefined;
  }

  callEnded(service: string, outcome: CallMetricOutcome, durationMs: number): void {
    this.duration?.record(durationMs / 1000, this.seriesOf(service, '', outcome, undefined).attributes);
  }

  /** An attempt on the instance at `address` ended. */
  attemptEnded(service: string, address: string, outcome: AttemptMetricOutcome, kind: AttemptKind): void {
    if (this.enabled) this.seriesOf(service, this.perInstance ? address : '', outcome, kind).total += 1;
  }

  private seriesOf(service: string, address: string, outcome: string, kind: AttemptKind | undefined): Series {
    let ofService = this.series.get(service);
    if (ofService === undefined) this.series.set(service, (ofService = new Map<string, Map<string, Series>>()));
    let ofInstance = ofService.get(address);
    if (ofInstance === undefined) ofService.set(address, (ofInstance = new Map<string, Series>()));
    const key = kind === undefined ? outcome : KIND_KEYS[kind][outcome as AttemptMetricOutcome];
    let series = ofInstance.get(key);
    if (series === undefined) {
      const attributes: Record<string, string> = { 'discovery.service': service, 'discovery.outcome': outcome };
      if (kind !== undefined) attributes['discovery.attempt.kind'] = kind;
      if (address !== '') attributes['server.address'] = address;
      series = { attributes, total: 0 };
      ofInstance.set(key, series);
    }
    return series;
  }
}

/** One series of points: its attributes, and (attempts) its total so far. */
interface Series {
  readonly attributes: MetricAttributes;
  total: number;
}

/** The key of each attempt's attribute set among its service's, made once (no string is built per record). */
const KIND_KEYS = Object.fromEntries(
  (['first', 'retry', 'hedge'] as const).map((kind) => [
    kind,
    Object.fromEntries(
      (['ok', 'error', 'unreachable', 'timeout', 'cancelled'] as const).map((outcome) => [
        outcome,
        `${kind} ${outcome}`,
      ]),
    ),
  ]),
) as Record<AttemptKind, Record<AttemptMetricOutcome, string>>;
