/** One call a `CallLoop` made: when it started, how long it took, what answered it (a pid), or what failed. */
export interface LoopCall {
  startedAt: number;
  tookMs: number;
  pid?: string;
  error?: string;
}

/**
 * A caller's loop, as an app's request handler would make calls: one call at a time, a new one every `everyMs` (or
 * when the last one ended, if later), each recorded, until `stop()`.
 */
export class CallLoop {
  readonly calls: LoopCall[] = [];
  private running = true;
  private readonly done: Promise<void>;

  constructor(call: () => Promise<string>, everyMs = 20) {
    this.done = (async () => {
      while (this.running) {
        const startedAt = Date.now();
        const record: LoopCall = { startedAt, tookMs: 0 };
        try {
          record.pid = await call();
        } catch (error) {
          record.error = `${(error as Error).name}: ${(error as Error).message}`;
        }
        record.tookMs = Date.now() - startedAt;
        this.calls.push(record);
        await new Promise((resolve) => setTimeout(resolve, Math.max(0, everyMs - record.tookMs)));
      }
    })();
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.done;
  }
}

/** The calls of `loops` started in [from, to). */
export function startedIn(loops: readonly CallLoop[], from: number, to: number): LoopCall[] {
  return loops.flatMap((loop) => loop.calls.filter((call) => call.startedAt >= from && call.startedAt < to));
}
