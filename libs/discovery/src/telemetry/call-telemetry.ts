import { Injectable } from '@nestjs/common';
import {
  CallRecorder,
  type AttemptKind,
  type AttemptMetricOutcome,
  type CallMetricOutcome,
  type CallRecord,
} from '../calls/call-record.js';
import { CallMetrics } from './call-metrics.js';
import { CallTracing, type CallSpan } from './call-tracing.js';

/** What is recorded of one call: its metrics, and its span when one is recorded. */
export class CallTelemetry implements CallRecord {
  constructor(
    private readonly metrics: CallMetrics,
    private readonly service: string,
    /** Undefined when no span is recorded (no SDK, or sampled out). */
    readonly span: CallSpan | undefined,
  ) {}

  attemptEnded(address: string, outcome: AttemptMetricOutcome, kind: AttemptKind): void {
    this.metrics.attemptEnded(this.service, address, outcome, kind);
    this.span?.attemptEnded(address, kind, outcome);
  }

  /**
   * The caller gave the call up before it ended: the attempt counts as `cancelled`; no duration, and the span just
   * ends.
   */
  abandoned(address: string, kind: AttemptKind): void {
    this.attemptEnded(address, 'cancelled', kind);
    this.span?.abandoned();
  }

  callEnded(outcome: CallMetricOutcome, durationMs: number): void {
    this.metrics.callEnded(this.service, outcome, durationMs);
    this.span?.end(outcome);
  }
}

/** The calls part's `CallRecorder`: each call's metrics and span (an internal provider). */
@Injectable()
export class CallTelemetryRecorder extends CallRecorder {
  constructor(
    private readonly metrics: CallMetrics,
    private readonly tracing: CallTracing,
  ) {
    super();
  }

  start(service: string, spanName: string): CallTelemetry {
    return new CallTelemetry(this.metrics, service, this.tracing.start(service, spanName));
  }

  noEndpoint(service: string): void {
    this.metrics.callEnded(service, 'no_endpoint', 0);
  }
}
