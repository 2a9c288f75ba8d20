import type { IWatchResponse, Watcher } from 'etcd3';
import type { KeyChange, WatchHandle, WatchHandlers } from './etcd-gateway.js';
import { restartWatchStream } from './watch-stream-restart.js';

/** How a watch deals with a member that does not answer. */
export interface StalledWatchSettings {
  /** etcd must answer a watch's create request within this, or the stream is restarted. */
  attachTimeoutMs: number;
  /** Called before the restart: holds the members whose connection is stuck out of the next pick. */
  isolateStalled(): void;
}

/**
 * Wires an etcd3 watcher to `handlers`; `watcher()` attaches synchronously, before anything is
 * emitted. A create request that gets no answer restarts the stream elsewhere (see `restartWatchStream`).
 */
export function watch(watcher: Watcher, fromRevision: number, stalls: StalledWatchSettings, handlers: WatchHandlers): WatchHandle {
  let reconnecting = false;
  let cancelled = false;
  let startsAt = fromRevision;
  let attachTimer: NodeJS.Timeout | undefined;
  const stopAttachTimer = () => {
    clearTimeout(attachTimer);
    attachTimer = undefined;
  };
  // An exception must never reach etcd3's stream handler, which would rethrow it and end the process.
  const guarded = (action: () => void) => {
    if (cancelled) return;
    try {
      action();
    } catch {
      // The owner's bug; the watch goes on.
    }
  };
  watcher.on('data', (response: IWatchResponse) => guarded(() => handlers.changes(response.events.map(toKeyChange))));
  watcher.on('disconnected', () => {
    stopAttachTimer();
    reconnecting = true;
  });
  // etcd3 re-attaches after a reconnect from the revision after the last it saw. The event carries
  // the create request it is about to send (its typings say the whole watch request: they are wrong).
  watcher.on('connecting', (request: unknown) => {
    startsAt = Number((request as { start_revision?: string | number }).start_revision ?? startsAt);
    stopAttachTimer();
    attachTimer = setTimeout(() => {
      attachTimer = undefined;
      if (cancelled) return;
      stalls.isolateStalled();
      restartWatchStream(watcher, new Error(`etcd did not answer a watch request within ${stalls.attachTimeoutMs} ms`));
    }, stalls.attachTimeoutMs);
    attachTimer.unref();
  });
  watcher.on('connected', (response: IWatchResponse) => {
    stopAttachTimer();
    // etcd answers with its current revision. Below where the watch starts, it has lost data (a
    // wiped data dir): the watch would wait for revisions that mean something else, or never come.
    if (Number(response.header.revision) < startsAt - 1) {
      guarded(() => handlers.broken(new Error(`etcd is at revision ${response.header.revision}, below ${startsAt - 1}: its data were lost`)));
    } else if (reconnecting) {
      guarded(() => handlers.resumed());
    }
    reconnecting = false;
  });
  // Cancelled by etcd (compaction) or failed: etcd3 drops the watcher. Listening also keeps etcd3
  // from throwing an unhandled 'error' inside its gRPC stream handler.
  watcher.on('error', (error: Error) => guarded(() => handlers.broken(error)));
  return {
    cancel: async () => {
      cancelled = true;
      stopAttachTimer();
      await cancelWatcher(watcher);
    },
  };
}

function toKeyChange(event: IWatchResponse['events'][number]): KeyChange {
  const put = event.type === 'Put';
  return {
    type: put ? 'put' : 'delete',
    key: event.kv.key.toString(),
    value: put ? event.kv.value.toString() : '',
    revision: Number(event.kv.mod_revision),
    created: put && String(event.kv.version) === '1',
  };
}

/**
 * Cancelling waits for etcd's answer while connected; a stalled cancel (etcd frozen, or gone) must
 * not hold up a shutdown or a re-watch, so it is bounded.
 */
async function cancelWatcher(watcher: Watcher, timeoutMs = 1000): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    watcher.cancel().catch(() => undefined),
    new Promise((resolve) => {
      timer = setTimeout(resolve, timeoutMs);
    }),
  ]);
  clearTimeout(timer);
}
