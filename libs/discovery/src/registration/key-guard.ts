import type { EtcdGateway, WatchHandle } from '../etcd/etcd-gateway.js';
import { listSince } from '../watch/watch-from-now.js';

/**
 * Watches one of our own keys and reports when it disappears while we still mean it to exist
 * (deleted by someone, its lease revoked) or when the watch itself fails (e.g. cancelled by a
 * compaction), so that the registry puts it back.
 *
 * It watches the deletes of the key's whole service from now on, not the key alone from the revision
 * after its write: etcd grpc-proxy serves watches of the same prefix from now on with one watch on
 * etcd, and creates every other watch on etcd on its own — one after the other, on its one stream to
 * etcd. 1,000 apps' guards of their own keys were 1,000 watches there, and held up the creation of
 * every other app's watches (a fleet started beside them did not start within 300 s). A delete
 * between the write and the watch's creation is found by reading the key once the watch exists.
 */
export class KeyGuard {
  private readonly handle: WatchHandle;
  private stopped = false;

  constructor(
    private readonly gateway: EtcdGateway,
    private readonly key: string,
    /** The key's service prefix (the key without its instance id). */
    prefix: string,
    /** The revision of the write that stored the key. */
    writtenAt: number,
    private readonly onGone: (reason: string) => void,
  ) {
    this.handle = gateway.watchPrefix(
      prefix,
      0,
      {
        created: (since) => {
          if (since > writtenAt) void this.checkStillThere(since);
        },
        changes: (changes) => {
          // A delete at or before the write is of an older life of the key (a watch created below it: a member behind).
          if (changes.some((change) => change.key === key && change.type === 'delete' && change.revision > writtenAt))
            this.gone('the key was deleted');
        },
        broken: (error) => this.gone(`the watch on the key failed (${error.message})`),
      },
      'deletes',
    );
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await this.handle.cancel();
  }

  /** etcd moved on between the write and the watch: the key read at `since` or later. */
  private async checkStillThere(since: number): Promise<void> {
    try {
      const read = await listSince(this.gateway, this.key, since);
      if (!read.entries.has(this.key)) this.gone('the key was deleted');
    } catch (error) {
      this.gone(`the key could not be read (${(error as Error).message})`); // written again: harmless
    }
  }

  private gone(reason: string): void {
    if (!this.stopped) this.onGone(reason);
  }
}
