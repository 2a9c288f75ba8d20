import type { NotRetried } from '../discovery.messages.js';
import type { AttemptMetricOutcome, CallMetricOutcome, CallMetrics } from '../telemetry/call-metrics.js';

/** The metrics of one `send()` through a client proxy: each attempt, and the send once it ends (`discovery.call.*`). */
export class SendMetrics {
  /** Each send in course, by its set of instances tried (one set per send, kept across its attempts). */
  private static readonly sends = new WeakMap<ReadonlySet<string>, SendMetrics>();

  /** The metrics of the send whose attempts share `tried`: made at its first attempt. */
  static of(tried: ReadonlySet<string>, metrics: CallMetrics, service: string): SendMetrics {
    let send = SendMetrics.sends.get(tried);
    if (send === undefined) SendMetrics.sends.set(tried, (send = new SendMetrics(metrics, service)));
    return send;
  }

  private readonly startedAt = performance.now();
  private attempts = 0;

  private constructor(
    private readonly metrics: CallMetrics,
    private readonly service: string,
  ) {}

  /** An attempt ended as `outcome`; with `sendOutcome`, the send ends with it. */
  attemptEnded(outcome: AttemptMetricOutcome, sendOutcome?: CallMetricOutcome): void {
    this.attempts += 1;
    this.metrics.attemptEnded(this.service, outcome, this.attempts === 1 ? 'first' : 'retry');
    if (sendOutcome !== undefined) this.metrics.callEnded(this.service, sendOutcome, performance.now() - this.startedAt);
  }

  /** An attempt timed out or could not reach its instance, and the send tries no further (`why`). */
  gaveUp(timedOut: boolean, why: NotRetried): void {
    const outcome = timedOut ? 'timeout' : 'unreachable';
    this.attemptEnded(outcome, why === 'budgetSpent' ? 'budget_exhausted' : outcome);
  }
}
