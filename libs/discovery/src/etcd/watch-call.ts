import type { ClientDuplexStream } from '@grpc/grpc-js';
import type { OpenedStream } from './etcd-connections.js';
import type { EtcdWatcher } from './etcd-watcher.js';
import type { WatchResponse } from './stream-codecs.js';
import type { SeenHistory } from './seen-history.js';

export type WatchDuplex = ClientDuplexStream<object, WatchResponse>;

/** A create waits at most this many attach timeouts, answering member or not (see `waitForCreation`). */
const ATTACH_BACKSTOP = 10;

/** What one Watch stream tells the `WatchStream` that opened it. */
export interface WatchCallEvents {
  /** A watch was created: the stream works. */
  created(): void;
  /** etcd refused to create `watcher`, or cancelled it for another reason than a compaction. */
  refused(watcher: EtcdWatcher, reason: string): void;
  /** `watcher` delivers nothing more: etcd compacted its revision, or lost its data. */
  over(watcher: EtcdWatcher): void;
  /** A member's answer showed that etcd lost its data (`reason`): every watch is listed again. */
  lostData(reason: string): void;
  /** A create request went unanswered for the attach timeout. */
  unanswered(): void;
  /** The stream failed, or etcd ended it. */
  failed(error: Error): void;
}

/**
 * One Watch stream while it lives: the create requests it sends — one at a time, in order, as Go's
 * client sends them (etcd answers them in order, and a proxy assigns its own ids) — etcd's id for
 * each watch, and the responses routed to their watchers. It decides nothing about failures: it
 * tells its owner (`WatchStream`).
 */
export class WatchCall {
  readonly ended: boolean = false;
  private readonly byId = new Map<number, EtcdWatcher>();
  private readonly toCreate: EtcdWatcher[] = [];
  private creating: EtcdWatcher | undefined;
  private attachTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly opened: OpenedStream<WatchDuplex>,
    private readonly history: SeenHistory,
    private readonly attachTimeoutMs: number,
    private readonly events: WatchCallEvents,
  ) {
    const { stream, member } = opened;
    stream.on('data', (response: WatchResponse) => this.received(response));
    stream.on('error', (error: Error) => this.fail(error));
    stream.on('end', () => this.fail(new Error(`etcd at ${member.address} ended the watch stream`)));
  }

  /** Asks etcd for `watcher`, after the creates before it. */
  create(watcher: EtcdWatcher): void {
    watcher.id = undefined;
    this.toCreate.push(watcher);
    this.createNext();
  }

  /** Tells etcd to cancel `watcher`, if it was created here; what etcd sent before it heard is dropped. */
  cancel(watcher: EtcdWatcher): void {
    if (watcher.id !== undefined && this.byId.delete(watcher.id))
      this.send({ cancel_request: { watch_id: watcher.id } });
  }

  /** Cancels the stream; nothing it receives from now on is told. */
  end(): void {
    if (this.ended) return;
    (this as { ended: boolean }).ended = true;
    clearTimeout(this.attachTimer);
    this.opened.stream.cancel();
  }

  private fail(error: Error): void {
    if (this.ended) return; // ended by us: the cancel's error is ours
    this.end();
    this.events.failed(error);
  }

  private send(request: object): void {
    if (!this.ended) this.opened.stream.write(request);
  }

  private createNext(): void {
    if (this.ended || this.creating) return;
    let next = this.toCreate.shift();
    while (next?.cancelled) next = this.toCreate.shift();
    if (!next) return;
    this.creating = next;
    this.send(next.createRequest());
    this.waitForCreation(this.attachTimeoutMs);
  }

  /**
   * Unanswered once the member has been silent for the attach timeout — not once this create has
   * waited that long: etcd grpc-proxy creates its watches on etcd one after the other, and while a
   * fleet starts beside it an answer takes minutes, from a proxy that answers everything else. A
   * stream re-opened then asked again for every watch, behind the same queue: 1,000 apps did so in a
   * loop, at 2× a bare app's CPU, and no change reached them. Past ATTACH_BACKSTOP attach timeouts it
   * is unanswered all the same: a proxy whose etcd is gone still answers checks from its cache.
   */
  private waitForCreation(ms: number, sentAt = Date.now()): void {
    this.attachTimer = setTimeout(() => {
      const silentMs = Date.now() - this.opened.member.heardAt;
      const waitedTooLong = Date.now() - sentAt >= ATTACH_BACKSTOP * this.attachTimeoutMs;
      if (silentMs < this.attachTimeoutMs && !waitedTooLong)
        this.waitForCreation(this.attachTimeoutMs - silentMs, sentAt);
      else this.events.unanswered();
    }, ms);
    this.attachTimer.unref();
  }

  private received(response: WatchResponse): void {
    if (this.ended) return;
    this.opened.member.heardAt = Date.now();
    if (response.created) return this.createdOne(response);
    this.history.saw(response.header);
    const watcher = this.byId.get(response.watch_id);
    if (!watcher) return; // cancelled here
    if (!response.canceled) return watcher.deliver(response);
    this.byId.delete(response.watch_id);
    if (response.compact_revision > 0) {
      const where = `watch on ${watcher.name}, at revision ${response.compact_revision}`;
      watcher.broken(new Error(`etcdserver: mvcc: required revision has been compacted (${where})`));
      this.events.over(watcher);
    } else {
      this.events.refused(watcher, response.cancel_reason);
    }
  }

  /** `watcher` resumed in a history etcd lost, and so did those created here before the loss was found. */
  private lost(watcher: EtcdWatcher, reason: string): void {
    for (const [id, created] of this.byId) {
      if (created.epoch >= this.history.epoch) continue;
      this.byId.delete(id);
      this.send({ cancel_request: { watch_id: id } });
      created.broken(new Error(reason));
      this.events.over(created);
    }
    watcher.broken(new Error(reason));
    this.events.over(watcher);
    this.events.lostData(reason);
  }

  private createdOne(response: WatchResponse): void {
    const watcher = this.creating;
    this.creating = undefined;
    clearTimeout(this.attachTimer);
    if (watcher && response.canceled) {
      this.events.refused(watcher, response.cancel_reason);
    } else if (watcher) {
      const lost = watcher.cancelled ? undefined : this.history.lostData(response.header, watcher);
      if (watcher.cancelled || lost !== undefined) {
        this.send({ cancel_request: { watch_id: response.watch_id } });
        if (lost !== undefined) this.lost(watcher, lost);
      } else {
        this.history.saw(response.header);
        watcher.id = response.watch_id;
        watcher.refusals = 0;
        this.byId.set(response.watch_id, watcher);
        watcher.created(response.header.revision);
        this.events.created();
      }
    }
    this.createNext();
  }
}
