import type { Etcd3, Watcher } from 'etcd3';
import { cancelWatcher } from '../etcd/cancel-watcher.js';

/**
 * Watches one of our own keys from the revision that wrote it, and reports when it disappears while
 * we still mean it to exist (deleted by someone, its lease revoked) or when the watch itself fails
 * (e.g. cancelled by a compaction), so that the registry puts it back.
 */
export class KeyGuard {
  private readonly watcher: Watcher;
  private stopped = false;

  constructor(client: Etcd3, key: string, fromRevision: string, onGone: (reason: string) => void) {
    // `watcher()` attaches synchronously, so the listeners below exist before any event or error
    // can be emitted (an unhandled 'error' would throw inside the gRPC stream handler).
    this.watcher = client.watch().key(key).startRevision(fromRevision).watcher();
    this.watcher.on('delete', () => {
      if (!this.stopped) onGone('the key was deleted');
    });
    this.watcher.on('error', (error: Error) => {
      if (!this.stopped) onGone(`the watch on the key failed (${error.message})`);
    });
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await cancelWatcher(this.watcher);
  }
}
