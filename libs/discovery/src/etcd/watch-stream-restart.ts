import type { Watcher } from 'etcd3';

/** The parts of etcd3 1.1.2's watch manager this file reaches (none is public API). */
interface WatchManagerInternals {
  /** 2 is etcd3's "Connected": the stream exists, the create requests were written to it. */
  state?: number;
  handleError?: (error: Error) => void;
  /** Opens the stream and attaches every watcher; only while Idle (0). */
  establishStream?: () => void;
}

/**
 * A reconnect can land on a member that is frozen (or cut off) but whose TCP port still accepts
 * connections: grpc-js then waits for the HTTP/2 handshake with no timeout, and the stream, which
 * has no deadline, waits forever — the watch silently delivers nothing. etcd3 shares one stream
 * among a client's watchers and offers no way to drop it, so this goes through its watch manager:
 * `handleError` cancels the stream and reconnects, exactly as when the stream fails by itself.
 * The caller first holds the stalled members out (`EtcdConnections.isolateStalled`), so that the
 * reconnect goes elsewhere. Checked by the frozen-leader test of test/cluster-faults.e2e-spec.ts.
 */
export function restartWatchStream(watcher: Watcher, reason: Error): void {
  const manager = (watcher as unknown as { manager?: WatchManagerInternals }).manager;
  if (manager?.state !== 2 || typeof manager.handleError !== 'function') return;
  manager.handleError(reason);
}

/**
 * After a failure etcd3's watch manager waits out its backoff (up to 2 s with the library's
 * settings) before it opens the stream again. Once a connection to etcd is ready again that wait is
 * only lag: the stream is opened at once (the pending timer then finds it open and does nothing).
 */
export function reconnectWatchStreamNow(client: object): void {
  const manager = (client as { watchManager?: WatchManagerInternals }).watchManager;
  if (manager?.state !== 0 || typeof manager.establishStream !== 'function') return;
  manager.establishStream();
}
