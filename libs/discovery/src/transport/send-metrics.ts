import type { NotRetried } from '../discovery.messages.js';
import type { AttemptMetricOutcome, CallMetricOutcome, CallRecord } from '../calls/call-record.js';

/**
 * What is recorded of one `send()` through a client proxy (`discovery.call.*` metrics, its span): each attempt, and the
 * send once it ends.
 */
export class SendMetrics {
  /** Each send in course, by its set of instances tried (one set per send, kept across its attempts). */
  private static readonly sends = new WeakMap<ReadonlySet<string>, SendMetrics>();

  /** The record of the send whose attempts share `tried`: made at its first attempt. */
  static of(tried: ReadonlySet<string>, telemetry: () => CallRecord): SendMetrics {
    let send = SendMetrics.sends.get(tried);
    if (send === undefined) SendMetrics.sends.set(tried, (send = new SendMetrics(telemetry())));
    return send;
  }

  private readonly startedAt = performance.now();
  private attempts = 0;

  private constructor(private readonly telemetry: CallRecord) {}

  /** An attempt on `address` ended as `outcome`; with `sendOutcome`, the send ends with it. */
  attemptEnded(address: string, outcome: AttemptMetricOutcome, sendOutcome?: CallMetricOutcome): void {
    this.attempts += 1;
    this.telemetry.attemptEnded(address, outcome, this.attempts === 1 ? 'first' : 'retry');
    if (sendOutcome !== undefined) this.telemetry.callEnded(sendOutcome, performance.now() - this.startedAt);
  }

  /**
   * The caller gave the send up (unsubscribed) before any reply: its attempt is `cancelled`, its span ends without an
   * outcome.
   */
  abandoned(address: string): void {
    this.attempts += 1;
    this.telemetry.abandoned(address, this.attempts === 1 ? 'first' : 'retry');
  }

  /** An attempt timed out or could not reach its instance, and the send tries no further (`why`). */
  gaveUp(address: string, timedOut: boolean, why: NotRetried): void {
    const outcome = timedOut ? 'timeout' : 'unreachable';
    this.attemptEnded(address, outcome, why === 'budgetSpent' ? 'budget_exhausted' : outcome);
  }
}
