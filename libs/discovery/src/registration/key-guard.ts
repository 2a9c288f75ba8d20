import type { EtcdGateway, WatchHandle } from '../etcd/etcd-gateway.js';

/**
 * Watches one of our own keys from the revision after the write that stored it, and reports when it
 * disappears while we still mean it to exist (deleted by someone, its lease revoked) or when the
 * watch itself fails (e.g. cancelled by a compaction), so that the registry puts it back.
 */
export class KeyGuard {
  private readonly handle: WatchHandle;
  private stopped = false;

  constructor(gateway: EtcdGateway, key: string, fromRevision: number, onGone: (reason: string) => void) {
    this.handle = gateway.watchKey(key, fromRevision, {
      changes: (changes) => {
        if (!this.stopped && changes.some((change) => change.type === 'delete')) onGone('the key was deleted');
      },
      broken: (error) => {
        if (!this.stopped) onGone(`the watch on the key failed (${error.message})`);
      },
    });
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await this.handle.cancel();
  }
}
