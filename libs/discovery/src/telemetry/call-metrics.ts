import { Injectable } from '@nestjs/common';
import { discoveryMeter, type MetricAttributes, type RecordInstrument } from './discovery-meter.js';

/** How a call ended, as `discovery.outcome` of `discovery.call.duration`. */
export type CallMetricOutcome = 'ok' | 'error' | 'unreachable' | 'timeout' | 'no_endpoint' | 'budget_exhausted';
/** How an attempt ended, as `discovery.outcome` of `discovery.call.attempts`: `cancelled` is a hedge that lost. */
export type AttemptMetricOutcome = 'ok' | 'error' | 'unreachable' | 'timeout' | 'cancelled';
/** `discovery.attempt.kind`. */
export type AttemptKind = 'first' | 'retry' | 'hedge';

/**
 * The metrics of calls through discovery (an internal provider): `discovery.call.duration`, one
 * point per call in seconds, and `discovery.call.attempts`, one per attempt — by service and
 * outcome (and kind). Without `@opentelemetry/api` installed it records nothing and costs a check.
 * Attribute sets are made once per service and outcome: recording allocates nothing; attempts are
 * totalled here and reported when the SDK collects (an addition per attempt, not an SDK call).
 */
@Injectable()
export class CallMetrics {
  private readonly duration: RecordInstrument | undefined;
  /** `@opentelemetry/api` is installed: attempts are totalled. */
  private readonly enabled: boolean;
  /** Per service, then by outcome (calls) or `kind outcome` (attempts): the attribute set, and for attempts the total. */
  private readonly series = new Map<string, Map<string, Series>>();

  constructor() {
    const meter = discoveryMeter();
    this.duration = meter?.histogram('discovery.call.duration', 'Duration of calls through discovery: call(), fetch(), client proxies', 's');
    meter?.observableCounter('discovery.call.attempts', 'Attempts of calls through discovery, by outcome and kind (first, retry, hedge)', '{attempt}', (observe) => {
      for (const ofService of this.series.values()) {
        for (const { attributes, total } of ofService.values()) if (total > 0) observe(total, attributes);
      }
    });
    this.enabled = meter !== undefined;
  }

  callEnded(service: string, outcome: CallMetricOutcome, durationMs: number): void {
    this.duration?.record(durationMs / 1000, this.seriesOf(service, outcome, undefined).attributes);
  }

  attemptEnded(service: string, outcome: AttemptMetricOutcome, kind: AttemptKind): void {
    if (this.enabled) this.seriesOf(service, outcome, kind).total += 1;
  }

  private seriesOf(service: string, outcome: string, kind: AttemptKind | undefined): Series {
    let ofService = this.series.get(service);
    if (ofService === undefined) this.series.set(service, (ofService = new Map()));
    const key = kind === undefined ? outcome : KIND_KEYS[kind][outcome as AttemptMetricOutcome];
    let series = ofService.get(key);
    if (series === undefined) {
      const attributes: MetricAttributes = kind === undefined
        ? { 'discovery.service': service, 'discovery.outcome': outcome }
        : { 'discovery.service': service, 'discovery.outcome': outcome, 'discovery.attempt.kind': kind };
      series = { attributes, total: 0 };
      ofService.set(key, series);
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
    Object.fromEntries((['ok', 'error', 'unreachable', 'timeout', 'cancelled'] as const).map((outcome) => [outcome, `${kind} ${outcome}`])),
  ]),
) as Record<AttemptKind, Record<AttemptMetricOutcome, string>>;
