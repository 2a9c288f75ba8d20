import type { NotRetried } from '../discovery.messages.js';
import type { ServiceEndpoint } from '../service-endpoint.interface.js';
import type { ServiceCalls } from './call-policies.js';
import type { CallTimers } from './call-timers.js';
import type { AttemptSource, RunSettings } from './run-settings.interface.js';
import type { RunningAttempts } from './running-attempts.js';
import { instanceKey } from '../codec/instance-key.js';
import { decideRetry } from './retry-decision.js';
import { triedInstances } from './tried-instances.js';

/**
 * Where a call's next attempt may go: an endpoint it has not tried yet, within its deadline, its retries
 * and the service's retry budget (a hedge: within the budget) — or, for a retry, why the call tries no
 * further, which its error and its metric say. Apart from `CallRun`, which decides when to ask.
 */
export class CallRetries {
  notRetried: NotRetried = 'noneLeft'; // why the call tried no further, when it did not

  constructor(
    private readonly attempts: AttemptSource,
    private readonly calls: ServiceCalls,
    private readonly settings: Pick<RunSettings<unknown>, 'retries' | 'key' | 'where' | 'hedgeFits'>,
    private readonly running: RunningAttempts,
    private readonly timers: Pick<CallTimers, 'passed'>,
  ) {}

  /** The endpoint of a retry; undefined when there is none: `notRetried` then says why, unless the deadline passed. */
  retry(): ServiceEndpoint | undefined {
    if (this.timers.passed) return undefined;
    const decision = decideRetry({
      mayRepeat: true, // asked only after a failure the call may repeat (see `CallRun`)
      attempts: this.running.count,
      retries: this.settings.retries,
      untried: () => this.untried(),
      fromBudget: () => this.calls.mayTryAgain(),
    });
    if ('next' in decision) return decision.next;
    this.notRetried = decision.notRetried;
    return undefined;
  }

  /**
   * The endpoint of a hedge: one not tried yet that the hedge fits (`hedgeFits`), if the hedge budget and the retry
   * budget allow another attempt.
   */
  hedge(): ServiceEndpoint | undefined {
    const { hedgeFits } = this.settings;
    const passedOver = triedInstances(this.running.all);
    let next = this.untried(passedOver);
    while (next !== undefined && hedgeFits !== undefined && !hedgeFits(next)) {
      passedOver.add(instanceKey(next));
      next = this.untried(passedOver);
    }
    return next === undefined || !this.calls.mayHedge() ? undefined : next;
  }

  /** An endpoint this call has not tried yet (nor passed over), if the strategy has one. */
  private untried(passedOver = triedInstances(this.running.all)): ServiceEndpoint | undefined {
    return this.attempts.next(this.calls.service, passedOver, this.settings.key, this.settings.where);
  }
}
