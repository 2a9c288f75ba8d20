import type { WatchEvent, WatchResponse } from './stream-codecs.js';
import type { KeyChange, WatchHandlers } from './etcd-gateway.js';

/** What a watch follows: `[key, rangeEnd)` (`key` alone without an end), all changes or its deletes only. */
export interface WatchedRange {
  /** For messages: the key or prefix watched. */
  readonly name: string;
  readonly key: Buffer;
  readonly rangeEnd: Buffer | undefined;
  readonly deletesOnly: boolean;
}

/**
 * One watch as the app holds it across streams: what it watches, its handlers, and the revision to
 * resume from — after the last event it delivered, or the revision a progress notification vouched
 * for — so that a watch re-created on a new stream (a member restarted, the stream moved elsewhere)
 * starts exactly where it left off: nothing skipped, nothing to list again. (etcd3 resumed from the
 * last response's header revision, which during a catch-up is ahead of the events it carried.)
 * A watch asked from revision 0 starts where etcd is when it creates it, and resumes from there.
 */
export class EtcdWatcher {
  /** etcd's id for it on the current stream, once created there. */
  id: number | undefined;
  /** Refusals in a row (`WatchStream`): with a fresh token too, it waits before asking again. */
  refusals = 0;
  cancelled = false;

  constructor(
    readonly range: WatchedRange,
    /** The first revision it has not delivered; 0 until etcd has created a watch asked from now on. */
    public nextRevision: number,
    /** The history (`SeenHistory.epoch`) that revision is from. */
    readonly epoch: number,
    private readonly handlers: WatchHandlers,
  ) {}

  get name(): string {
    return this.range.name;
  }

  /** The create request, asking etcd to give the watch `askedId` (see `WatchCall`). */
  createRequest(askedId: number): object {
    const { key, rangeEnd, deletesOnly } = this.range;
    return {
      create_request: {
        key,
        watch_id: String(askedId),
        ...(rangeEnd ? { range_end: rangeEnd } : {}),
        ...(deletesOnly ? { filters: ['NOPUT'] } : {}),
        start_revision: String(this.nextRevision),
        // etcd then says every 10 minutes (its default) how far a quiet watch has come: a resume
        // after a compaction starts past it instead of failing and listing again.
        progress_notify: true,
      },
    };
  }

  /** etcd created it (on this stream; maybe again on a later one): a watch from now on starts after `revision`. */
  created(revision: number): void {
    if (this.nextRevision !== 0) return;
    this.nextRevision = revision + 1;
    this.guarded(() => this.handlers.created?.(revision));
  }

  /** Events, or a progress notification (no event: etcd has sent everything up to its header's revision). */
  deliver(response: WatchResponse): void {
    const { events } = response;
    if (events.length === 0) {
      // What Go's client does: resume from the header's revision (its events, if any, come again and are dropped as
      // seen).
      this.nextRevision = Math.max(this.nextRevision, response.header.revision);
      return;
    }
    const changes = events.map(toKeyChange);
    this.nextRevision = changes[changes.length - 1].revision + 1;
    this.guarded(() => this.handlers.changes(changes));
  }

  /** Cancelled by etcd (compaction) or found to be past repair: the owner lists again. */
  broken(error: Error): void {
    this.guarded(() => this.handlers.broken(error));
  }

  private guarded(action: () => void): void {
    if (this.cancelled) return;
    try {
      action();
    } catch {
      // The owner's bug; the watch goes on, and the stream's other watches too.
    }
  }
}

function toKeyChange(event: WatchEvent): KeyChange {
  const put = event.type === 'Put';
  return {
    type: put ? 'put' : 'delete',
    key: event.kv.key.toString(),
    value: put ? event.kv.value.toString() : '',
    revision: event.kv.mod_revision,
    created: put && event.kv.version === 1,
  };
}
