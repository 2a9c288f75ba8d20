import { Inject, Injectable, type LoggerService } from '@nestjs/common';
import { RESOLVED_DISCOVERY_OPTIONS } from '../discovery.constants.js';
import { messages } from '../discovery.messages.js';
import type { ResolvedCallPolicy } from '../options/calls-options.interface.js';
import type { ResolvedDiscoveryOptions } from '../options/discovery-module-options.interface.js';
import type { ServicePolicy } from '../policy/service-policy.js';
import { TrafficPolicies } from '../policy/traffic-policies.js';
import type { PolicyCalls } from '../policy/traffic-policy.interface.js';
import { DEFAULT_HEDGE_BUDGET_PERCENT } from '../options/defaults.js';
import { defaultHedge } from '../options/resolve-calls.js';
import { libraryLogger } from '../util/library-logger.js';
import { CallerLoad } from './caller-load.js';
import { LatencyWindow } from './latency-window.js';
import { BUDGET_WINDOW_MS, RetryBudget } from './retry-budget.js';

/** What the calls of one service share: their policy, their retry budget, their recent response times. */
export class ServiceCalls {
  readonly latency = new LatencyWindow();
  private readonly budget: RetryBudget | undefined;
  /** Hedges' own, smaller budget (see `HedgeOptions.budgetPercent`); they count in `budget` too. */
  private readonly hedgeBudget: RetryBudget | undefined;
  /** When the budget last refused (ms), so that an episode of refusals is logged once, at its start. */
  private lastRefusedAt = -Infinity;
  /** The configured policy under the traffic policy's `calls`, made once per `calls` in force. */
  private overridden: { calls: PolicyCalls; policy: ResolvedCallPolicy } | undefined;

  constructor(
    readonly service: string,
    /** The app's own settings for the service's calls. */
    readonly configured: ResolvedCallPolicy,
    private readonly logger: LoggerService,
    /** The service's traffic policy, whose `calls` go over the app's own settings while it says any. */
    private readonly traffic?: ServicePolicy,
    /** Whether the app's event loop is overloaded: the same for every service's calls. */
    readonly load = new CallerLoad(),
  ) {
    const { budget, hedge } = configured;
    this.budget = budget === false ? undefined : new RetryBudget(budget.percent, budget.minPerSecond);
    // Also when the app's own settings hedge nothing: a traffic policy may turn hedging on.
    const hedgePercent = hedge === false ? DEFAULT_HEDGE_BUDGET_PERCENT : hedge.budgetPercent;
    this.hedgeBudget = budget === false ? undefined : new RetryBudget(hedgePercent, budget.minPerSecond);
  }

  /** The call settings in force: the app's own, under those of the service's traffic policy. */
  get policy(): ResolvedCallPolicy {
    const calls = this.traffic?.calls;
    if (calls === undefined) return this.configured;
    if (this.overridden?.calls !== calls) this.overridden = { calls, policy: overrideCalls(this.configured, calls) };
    return this.overridden.policy;
  }

  /** A call started (its first attempt). */
  started(): void {
    this.budget?.callStarted();
    this.hedgeBudget?.callStarted();
  }

  /** Whether one more hedge fits its own budget and the retry budget; it is counted in both if so. */
  mayHedge(): boolean {
    if (this.hedgeBudget === undefined) return true;
    // Checked first: a hedge it refuses is ordinary (the service is slow, not failing):
    // it takes nothing from the other.
    if (!this.hedgeBudget.hasRoom() || !this.mayTryAgain()) return false;
    return this.hedgeBudget.tryWithdraw();
  }

  /** Whether one more attempt (a retry or a hedge) fits the budget; it is counted if so. */
  mayTryAgain(): boolean {
    if (this.budget === undefined) return true;
    if (this.budget.tryWithdraw()) return true;
    // An episode lasts while refusals come less than a budget window apart: the floor lets a few
    // retries through every second, and those must not end it (nor start a new warning each second).
    const now = Date.now();
    if (now - this.lastRefusedAt > BUDGET_WINDOW_MS && this.policy.budget !== false) {
      this.logger.warn(
        messages.budgetExhausted(this.service, this.policy.budget.percent, this.policy.budget.minPerSecond),
      );
    }
    this.lastRefusedAt = now;
    return false;
  }

  /** When a hedge goes out for this service's calls now; undefined when they are not hedged. */
  hedgeAfterMs(): number | undefined {
    const hedge = this.policy.hedge;
    if (hedge === false) return undefined;
    if (hedge.afterMs !== 'adaptive') return hedge.afterMs;
    const p95 = this.latency.percentile95;
    return Number.isNaN(p95) ? hedge.maxMs : Math.min(hedge.maxMs, Math.max(hedge.minMs, p95));
  }

  /** When the hedge of a call starting now goes out: `hedgeAfterMs`, pushed back while the caller is overloaded. */
  hedgeOfCallStartingMs(attemptTimeoutMs: number): number {
    return this.load.hedgeDelay(this.hedgeAfterMs()!, attemptTimeoutMs);
  }
}

/**
 * The call policy of every service (an internal provider): `calls` of the options, resolved per
 * service, with the budget and response times each service's calls share.
 */
@Injectable()
export class CallPolicies {
  private readonly services = new Map<string, ServiceCalls>();
  private readonly logger: LoggerService;
  private readonly load = new CallerLoad();

  constructor(
    @Inject(RESOLVED_DISCOVERY_OPTIONS) private readonly options: ResolvedDiscoveryOptions,
    private readonly traffic: TrafficPolicies,
  ) {
    this.logger = libraryLogger('DiscoveryClient', options);
  }

  of(service: string): ServiceCalls {
    let calls = this.services.get(service);
    if (calls === undefined) {
      const { defaults, services } = this.options.calls;
      const configured = services.get(service) ?? defaults;
      calls = new ServiceCalls(service, configured, this.logger, this.traffic.of(service), this.load);
      this.services.set(service, calls);
    }
    return calls;
  }
}

/** The app's settings with a traffic policy's `calls` over them (an attempt never longer than the whole call). */
function overrideCalls(configured: ResolvedCallPolicy, calls: PolicyCalls): ResolvedCallPolicy {
  const timeoutMs = calls.timeoutMs ?? configured.timeoutMs;
  const attemptTimeoutMs = Math.min(calls.attemptTimeoutMs ?? configured.attemptTimeoutMs, timeoutMs);
  const hedge =
    calls.hedge === undefined
      ? configured.hedge
      : calls.hedge
        ? configured.hedge || defaultHedge(attemptTimeoutMs)
        : false;
  return { ...configured, timeoutMs, attemptTimeoutMs, hedge, retries: calls.retries ?? configured.retries };
}
