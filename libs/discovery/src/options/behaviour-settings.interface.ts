/** How outlier ejection and self-preservation behave: the resolved forms of their options. */

/** When an endpoint that keeps failing is taken out of picks, and for how long. */
export interface OutlierEjectionSettings {
  /** Failures in a row (connection refused, reset, timed out before any answer) that eject an endpoint. */
  consecutiveFailures: number;
  /** How long the first ejection lasts; the n-th in a row lasts n times as long. */
  baseEjectionMs: number;
  /** The most of a service's endpoints ejected at once, in percent (at least one when there are two or more). */
  maxEjectedPercent: number;
}

/** Self-preservation: how long a mass removal is held before it is believed. */
export interface SelfPreservationSettings {
  /** A held removal is believed when a list read this long after the hold began still lacks the endpoints. */
  confirmMs: number;
  /** The longest any removal is held (also when etcd cannot be listed, or lost its data). */
  maxHoldMs: number;
}
