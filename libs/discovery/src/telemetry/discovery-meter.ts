import { createRequire } from 'node:module';

/** Attributes of a metric point: low-cardinality names and values only. */
export type MetricAttributes = Readonly<Record<string, string>>;

/** What the library records into: a counter's or a histogram's one method, nothing of OpenTelemetry's types. */
export interface CountInstrument {
  add(value: number, attributes: MetricAttributes): void;
}
export interface RecordInstrument {
  record(value: number, attributes: MetricAttributes): void;
}

/** The instruments the library makes, named and described after OpenTelemetry's conventions. */
export interface DiscoveryMeter {
  counter(name: string, description: string, unit?: string): CountInstrument;
  histogram(name: string, description: string, unit: string): RecordInstrument;
  /**
   * A counter whose totals the library keeps itself and reports when the SDK collects: counting
   * then costs an addition, not an SDK call per event.
   */
  observableCounter(name: string, description: string, unit: string, report: (observe: Observe) => void): void;
  /** A gauge read when the SDK collects. */
  observableGauge(name: string, description: string, unit: string, report: (observe: Observe) => void): void;
}

/** Reports one total (or gauge value) with its attributes, at collection. */
export type Observe = (value: number, attributes: MetricAttributes) => void;

/**
 * The buckets of a duration in seconds, as OpenTelemetry's HTTP conventions advise (the SDK's
 * default buckets, 0 to 10,000, are made for milliseconds); an app's View may set others.
 */
const SECONDS_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];

/** The meter's name: what an OpenTelemetry backend shows as the instrumentation scope. */
export const METER_NAME = 'nestjs-etcd-discovery';

/**
 * The library's meter, from `@opentelemetry/api` when the app has it installed — an optional peer
 * dependency, as for `@nestjs/terminus` — and undefined when it has not: then nothing is recorded
 * and nothing is paid. With the API but no SDK, OpenTelemetry's own no-op meter answers.
 *
 * The meter is taken from the global provider when the library's providers are made: start the
 * OpenTelemetry SDK before the Nest app is created (as OpenTelemetry asks of every instrumentation).
 */
export function discoveryMeter(): DiscoveryMeter | undefined {
  const api = optionalApi();
  if (api === undefined) return undefined;
  const meter = api.metrics.getMeter(METER_NAME);
  return {
    counter: (name, description, unit) => meter.createCounter(name, { description, unit }),
    histogram: (name, description, unit) =>
      meter.createHistogram(name, { description, unit, advice: { explicitBucketBoundaries: SECONDS_BUCKETS } }),
    observableCounter: (name, description, unit, report) => {
      meter
        .createObservableCounter(name, { description, unit })
        .addCallback((result) => report((value, attributes) => result.observe(value, attributes)));
    },
    observableGauge: (name, description, unit, report) => {
      meter
        .createObservableGauge(name, { description, unit })
        .addCallback((result) => report((value, attributes) => result.observe(value, attributes)));
    },
  };
}

interface ObservableInstrument {
  addCallback(callback: (result: { observe(value: number, attributes: MetricAttributes): void }) => void): void;
}

interface OtelMetricsApi {
  metrics: {
    getMeter(name: string): {
      createCounter(name: string, options: { description: string; unit?: string }): CountInstrument;
      createHistogram(
        name: string,
        options: { description: string; unit?: string; advice?: { explicitBucketBoundaries: number[] } },
      ): RecordInstrument;
      createObservableCounter(name: string, options: { description: string; unit?: string }): ObservableInstrument;
      createObservableGauge(name: string, options: { description: string; unit?: string }): ObservableInstrument;
    };
  };
}

/**
 * `@opentelemetry/api` if it can be loaded from here; it ships CommonJS, so `require` reads it in ESM and CommonJS apps
 * alike.
 */
function optionalApi(): OtelMetricsApi | undefined {
  try {
    return createRequire(import.meta.url)('@opentelemetry/api') as OtelMetricsApi;
  } catch {
    return undefined;
  }
}
