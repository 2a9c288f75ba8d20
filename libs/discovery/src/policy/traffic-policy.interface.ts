/**
 * The traffic policy of one service: what an operator steers live, stored in etcd as one JSON document at
 * `<namespace>.policy/<service>` (outside the namespace: the catalog and Go readers of it never see it). Every app
 * that calls the service applies it as one unit, over its own `forRoot` settings; a document that
 * `validateTrafficPolicy()` rejects is never applied, in whole or in part (the last good one stays).
 */
export interface TrafficPolicy {
  /** A share of calls per version, on top of the strategy, zones and `where`. */
  split?: TrafficSplit;
  /** Overrides per instance id: drained, or another weight. Each ends by itself at its `until`. */
  instances?: Record<string, InstanceOverride>;
  /** Call settings over the app's own (`forRoot({ calls })`); an option given to a call itself still wins. */
  calls?: PolicyCalls;
  guards?: PolicyGuards;
}

export interface TrafficSplit {
  by: 'version';
  /**
   * Relative shares by version (`{ v1: 90, v2: 10 }`), integers ≥ 0, not all 0. Instances of a version not named
   * get no share; a named version with no instance now gives its share to the others.
   */
  weights: Record<string, number>;
}

export interface InstanceOverride {
  /** No new call goes to the instance; those in flight finish. */
  drained?: boolean;
  /** Replaces the weight the instance registered (an integer from 1 to 10,000). */
  weight?: number;
  /** When the override ends by itself: an ISO 8601 time at most 7 days ahead (the CLI's default is 1 h). */
  until: string;
  /** Why, for the next operator. */
  reason?: string;
}

export interface PolicyCalls {
  /** The longest a whole call may take (1 ms to 1 h). */
  timeoutMs?: number;
  /** The longest one attempt may take; at most `timeoutMs`. */
  attemptTimeoutMs?: number;
  /** Other instances a failed call may try (0 to 10). */
  retries?: number;
  /** Hedging on (with the app's hedge settings, else adaptive ones) or off. */
  hedge?: boolean;
}

export interface PolicyGuards {
  /** The most instances, in percent of those up, that may be drained at once (0 to 100). @default 50 */
  maxDrainedPercent?: number;
}
