import { backoffDelay } from '../util/backoff.js';

/** The shortest wait before a stream re-opens; a refused watch is asked again after this and a backoff. */
export const REOPEN_INITIAL_MS = 100;
const REOPEN_MAX_MS = 2000;

/**
 * When `WatchStream` re-opens its stream after a failure: after a short jittered backoff that grows
 * with the failures in a row (`succeeded()` starts it over), or at once (`now()`) when a member is
 * back; one re-open waiting at a time. A fleet that lost etcd together does not come back in step.
 */
export class ReopenBackoff {
  private failures = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly reopen: () => void) {}

  /** Whether a re-open is waiting for its backoff. */
  get waiting(): boolean {
    return this.timer !== undefined;
  }

  /** Re-opens after the backoff, unless a re-open is waiting already. */
  later(): void {
    if (this.timer !== undefined) return;
    this.timer = setTimeout(() => this.now(), backoffDelay(this.failures++, REOPEN_INITIAL_MS, REOPEN_MAX_MS));
    this.timer.unref();
  }

  /** Re-opens now: the waiting one, if any, is no longer needed. */
  now(): void {
    this.cancel();
    this.reopen();
  }

  /** No re-open waits any more: the stream is opening now, or closed. */
  cancel(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** The stream works: the next failure waits the shortest again. */
  succeeded(): void {
    this.failures = 0;
  }
}
