/**
 * Backoff between attempts to reach etcd again — to (re-)register, to re-list a watch: capped exponential with full
 * jitter.
 */
export interface BackoffOptions {
  /**
   * Upper bound of the first delay; each later attempt doubles it, up to `maxDelayMs`.
   * @default 200
   */
  initialDelayMs?: number;
  /**
   * Cap of the delay between two attempts.
   * @default 5000
   */
  maxDelayMs?: number;
}
