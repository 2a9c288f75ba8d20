import type { CallTrace } from './call-record.js';

/**
 * What an attempt is given (an `AttemptContext`): its number, and an `AbortSignal` made only when the attempt reads it.
 * An `AbortController` costs more than all the rest of a call's bookkeeping (a third of `call()`'s
 * time, measured with `--cpu-prof`), and an attempt that never passes its signal on has no use for it.
 */
export class LazyAttemptContext {
  private controller: AbortController | undefined;
  /** Why it was aborted, if it was before anyone read the signal. */
  private abortedWith: Error | undefined;

  constructor(
    readonly attempt: number,
    /** The call's span, when one is recorded: `fetch()` writes its `traceparent` into the request. */
    readonly span?: CallTrace,
  ) {}

  get signal(): AbortSignal {
    if (this.controller === undefined) {
      this.controller = new AbortController();
      if (this.abortedWith !== undefined) this.controller.abort(this.abortedWith);
    }
    return this.controller.signal;
  }

  /** Aborts the signal, now if it was read, else as soon as it is. */
  abort(reason: Error): void {
    if (this.controller === undefined) this.abortedWith ??= reason;
    else this.controller.abort(reason);
  }
}
