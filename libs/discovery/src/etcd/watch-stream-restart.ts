import type { Watcher } from 'etcd3';

/** The parts of etcd3 1.1.2's internals this file reaches (none is public API). */
interface WatchManagerInternals {
  /** 2 is etcd3's "Connected": the stream exists, the create requests were written to it. */
  state?: number;
  handleError?: (error: Error) => void;
  /** The watch RPC client, whose `client` is the connection pool. */
  client?: { client?: { hosts?: HostInternals[] } };
}

interface HostInternals {
  cachedServices?: Record<string, { getChannel?: () => { getConnectivityState(tryToConnect: boolean): number } } | undefined>;
  /** The per-host policy: a cockatiel circuit breaker unless the user gave another. */
  faultHandling?: { isolate?: () => { dispose(): void } };
}

/** grpc-js' connectivity states that mean "working": IDLE (0) and READY (2). */
const healthyStates = new Set([0, 2]);

/**
 * A reconnect can land on a member that is frozen (or cut off) but whose TCP port still accepts
 * connections: grpc-js then waits for the HTTP/2 handshake with no timeout, and the stream, which
 * has no deadline, waits forever — the watch silently delivers nothing. etcd3 shares one stream
 * among a client's watchers and offers no way to drop it, so this goes through its watch manager:
 * `handleError` cancels the stream and reconnects, exactly as when the stream fails by itself.
 *
 * etcd3 reconnects to a member picked at random, which may be the frozen one again (a third of the
 * time on 3 members, each costing another `attachTimeoutMs`). So first, the members whose watch
 * channel is stuck mid-connection are held out of etcd3's pool for `isolateMs` (their circuit
 * breakers held open) — never all of them: with none left, every call would fail. Checked by the
 * frozen-leader test of test/cluster-faults.e2e-spec.ts (etcd3 1.1.2).
 */
export function restartWatchStream(watcher: Watcher, reason: Error, isolateMs: number): void {
  const manager = (watcher as unknown as { manager?: WatchManagerInternals }).manager;
  if (manager?.state !== 2 || typeof manager.handleError !== 'function') return;
  isolateStalledHosts(manager.client?.client?.hosts ?? [], isolateMs);
  manager.handleError(reason);
}

function isolateStalledHosts(hosts: readonly HostInternals[], isolateMs: number): void {
  const stalled = hosts.filter((host) => {
    const state = host.cachedServices?.Watch?.getChannel?.().getConnectivityState(false);
    return state !== undefined && !healthyStates.has(state) && typeof host.faultHandling?.isolate === 'function';
  });
  if (stalled.length === 0 || stalled.length >= hosts.length) return;
  for (const host of stalled) {
    const isolation = host.faultHandling!.isolate!();
    setTimeout(() => isolation.dispose(), isolateMs).unref();
  }
}
