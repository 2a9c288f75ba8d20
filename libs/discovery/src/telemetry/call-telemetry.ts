import type { AttemptKind, AttemptMetricOutcome, CallMetricOutcome, CallMetrics } from './call-metrics.js';
import type { CallSpan } from './call-tracing.js';

/** What is recorded of one call: its metrics, and its span when one is recorded. */
export class CallTelemetry {
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
