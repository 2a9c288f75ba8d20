import { backoffDelay } from './backoff.js';
import { cancellableSleep } from './sleep.js';

/** What a RetryLoop runs. */
export interface RetryStep {
  /** Whether there is anything to do; when not, the loop sleeps until `kick()`. */
  hasWork(): boolean;
  /** One attempt at the work; a rejection is a failure. */
  attempt(): Promise<void>;
  /** Told of each failure; returns whether to back off, or to try again at once (the failure was news, not trouble). */
  failed(error: unknown, attempt: number, delayMs: number): 'back-off' | 'again';
  /** The longest backoff allowed now, if shorter than the options' cap (start-up asks again within its window). */
  longestDelayMs?(): number;
}

/**
 * Runs one step at a time for as long as there is work, and after a failure waits a backoff —
 * capped exponential with full jitter, reset by a success — before the next attempt. New work waits
 * for the next attempt; `retryNow()` (etcd is reachable again) and `close()` cut a backoff short.
 */
export class RetryLoop {
  private running: Promise<void> | undefined;
  private wake: () => void = () => undefined;
  private backoff: { cancel: () => void } | undefined;
  private closed = false;

  constructor(
    private readonly settings: { initialDelayMs: number; maxDelayMs: number },
    private readonly step: RetryStep,
  ) {}

  /** There may be new work: start the loop, or wake it if it sleeps for lack of work. */
  kick(): void {
    if (this.closed) return;
    this.running ??= this.run();
    this.wake();
  }

  /** etcd is reachable again: attempt now instead of at the end of the backoff (the failures so far still count). */
  retryNow(): void {
    this.backoff?.cancel();
  }

  /** Stops the loop and waits for the attempt in flight, if any. */
  async close(): Promise<void> {
    this.closed = true;
    this.wake();
    this.backoff?.cancel();
    await this.running;
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (!this.closed) {
      if (!this.step.hasWork()) {
        await new Promise<void>((resolve) => (this.wake = resolve));
        continue;
      }
      try {
        await this.step.attempt();
        failures = 0;
      } catch (error) {
        if (this.closed) break;
        const longestMs = Math.min(this.settings.maxDelayMs, this.step.longestDelayMs?.() ?? Infinity);
        const delayMs = backoffDelay(failures, this.settings.initialDelayMs, longestMs);
        if (this.step.failed(error, failures + 1, delayMs) === 'again') continue;
        failures += 1;
        const backoff = cancellableSleep(delayMs);
        this.backoff = backoff;
        await backoff.done;
        this.backoff = undefined;
      }
    }
  }
}
