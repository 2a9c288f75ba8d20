import type { EtcdConnections } from './etcd-connections.js';
import type { EtcdWatcher } from './etcd-watcher.js';
import { checkAlive, SILENCE_MS } from './stream-liveness.js';
import type { WatchCall } from './watch-call.js';

/**
 * Follows the silence of `WatchStream`'s open stream: once its member has been silent for `silenceMs`
 * (default `SILENCE_MS`), asks the member whether it is alive (see `checkAlive`), with the range of
 * one of the stream's watches, one check at a time. A watch on a frozen member waits, silent; one on
 * a quiet prefix is silent too, and only a check tells them apart.
 */
export class WatchSilence {
  private timer: NodeJS.Timeout | undefined;
  private checking = false;

  constructor(
    private readonly connections: EtcdConnections,
    private readonly settings: { silenceMs?: number; checkTimeoutMs: number },
    /** The stream's call now (undefined while there is none), and one of its watches. */
    private readonly current: () => { call: WatchCall | undefined; watcher: EtcdWatcher | undefined },
  ) {}

  /** While a stream is open, its member is checked once it has been silent for `silenceMs` (see `checkAlive`). */
  follow(): void {
    const silenceMs = this.settings.silenceMs ?? SILENCE_MS;
    this.timer ??= setInterval(() => {
      const { call, watcher } = this.current();
      if (!call || !watcher || this.checking || Date.now() - call.opened.member.heardAt < silenceMs) return;
      this.checking = true;
      void checkAlive(
        this.connections,
        call.opened.member,
        watcher.range.key,
        watcher.range.rangeEnd,
        this.settings.checkTimeoutMs,
      ).finally(() => (this.checking = false));
    }, silenceMs / 2);
    this.timer.unref();
  }

  /** The stream ended: no more checks until the next one is followed. */
  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}
