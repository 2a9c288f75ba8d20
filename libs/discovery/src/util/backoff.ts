/**
 * Capped exponential backoff with full jitter (AWS architecture blog, "Exponential Backoff And
 * Jitter"): attempt n waits a uniform random time in [0, min(max, initial · 2ⁿ)]. Full jitter keeps
 * a fleet that lost etcd together from hammering it in lock-step when it returns.
 */
export function backoffDelay(
  attempt: number,
  initialDelayMs: number,
  maxDelayMs: number,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(maxDelayMs, initialDelayMs * 2 ** Math.min(attempt, 30));
  return Math.round(random() * ceiling);
}
