import { Listeners } from '../util/listeners.js';

/**
 * Work waiting for etcd starts at a random moment within this after a member is back: a fleet does not
 * arrive at once.
 */
const RECONNECT_SPREAD_MS = 250;

/**
 * Behind `EtcdConnections.onConnected`: tells the work waiting for etcd (a stream to re-open) that a
 * member's connection is ready, not at once but at a random moment within `RECONNECT_SPREAD_MS`, so
 * that the apps of a fleet, all waiting for the same member, do not all arrive together.
 */
export class ReconnectSignal {
  private readonly listeners = new Listeners();
  private readonly timers = new Set<NodeJS.Timeout>();

  /** A member's connection is ready (connected at last, or again after a failure). */
  readonly memberReady = (): void => {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      this.listeners.tell();
    }, Math.random() * RECONNECT_SPREAD_MS);
    timer.unref();
    this.timers.add(timer);
  };

  /** Calls `listener` soon after each time a member is ready; returns what stops it. */
  add(listener: () => void): () => void {
    return this.listeners.add(listener);
  }

  /** No listener is told anything more. */
  close(): void {
    this.listeners.clear();
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }
}
