/**
 * What the calls part tells of each call, for whoever records it (telemetry: `discovery.call.*` metrics and
 * spans, telemetry/call-telemetry.ts). The calls part defines it and never imports its listener: telemetry
 * sits above it and plugs in as the `CallRecorder` provider.
 */

/** How a call ended, as `discovery.outcome` of `discovery.call.duration`. */
export type CallMetricOutcome = 'ok' | 'error' | 'unreachable' | 'timeout' | 'no_endpoint' | 'budget_exhausted';
/** How an attempt ended, as `discovery.outcome` of `discovery.call.attempts`: `cancelled` is a hedge that lost. */
export type AttemptMetricOutcome = 'ok' | 'error' | 'unreachable' | 'timeout' | 'cancelled';
/** `discovery.attempt.kind`. */
export type AttemptKind = 'first' | 'retry' | 'hedge';

/** Request headers, undici's or the global `Headers`. */
export interface HeaderCarrier {
  set(key: string, value: string): void;
}

/** A call's trace, when one is recorded: `fetch()` writes its `traceparent` into each request. */
export interface CallTrace {
  inject(headers: HeaderCarrier): void;
}

/** What is recorded of one call, from its start: each attempt's end, and the call's. */
export interface CallRecord {
  /** Undefined when no trace is recorded (no SDK, or sampled out). */
  readonly span: CallTrace | undefined;
  attemptEnded(address: string, outcome: AttemptMetricOutcome, kind: AttemptKind): void;
  /** The caller gave the call up before it ended. */
  abandoned(address: string, kind: AttemptKind): void;
  callEnded(outcome: CallMetricOutcome, durationMs: number): void;
}

/** Starts the record of each call (the token of the provider that records them). */
export abstract class CallRecorder {
  /** A call to `service` starts now; `spanName` is `call` unless the way of calling says (`fetch`, `send`). */
  abstract start(service: string, spanName: string): CallRecord;
  /** A call to `service` found no endpoint to try: it ends before it starts. */
  abstract noEndpoint(service: string): void;
}
