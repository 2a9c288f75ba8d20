import type { OutlierEjectionSettings, SelfPreservationSettings } from './behaviour-settings.interface.js';

/** The defaults, written once: every other file reads resolved options. */
export const DEFAULT_NAMESPACE = '/services';
export const DEFAULT_TTL_SECONDS = 10;
export const DEFAULT_CONNECT_TIMEOUT_MS = 5000;
export const DEFAULT_BACKOFF = { initialDelayMs: 200, maxDelayMs: 5000 } as const;
export const DEFAULT_RESYNC_INTERVAL_MS = 300_000;
export const DEFAULT_SELF_PRESERVATION: SelfPreservationSettings = { confirmMs: 3000, maxHoldMs: 30_000 };
export const DEFAULT_OUTLIER_EJECTION: OutlierEjectionSettings = {
  consecutiveFailures: 3,
  baseEjectionMs: 10_000,
  maxEjectedPercent: 50,
};
export const DEFAULT_HEALTH = { intervalMs: 5000, unhealthyThreshold: 2, healthyThreshold: 1 } as const;
export const DEFAULT_CALL_TIMEOUT_MS = 10_000;
export const DEFAULT_ATTEMPT_TIMEOUT_MS = 2000;
/** Attempts one call makes by hedging, the first included: two instances hung at once still cost one delay more. */
export const DEFAULT_HEDGE_MAX_ATTEMPTS = 3;
export const DEFAULT_HEDGE_MIN_MS = 10;
/** Hedges, in percent of a service's calls: a budget of their own, smaller than the retry budget. */
export const DEFAULT_HEDGE_BUDGET_PERCENT = 5;
/** `fetch()`'s keep-alive connections to one instance, at most. */
export const DEFAULT_CONNECTIONS_PER_INSTANCE = 64;
export const DEFAULT_BUDGET = { percent: 20, minPerSecond: 10 } as const;
