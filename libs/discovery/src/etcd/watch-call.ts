import type { ClientDuplexStream } from '@grpc/grpc-js';
import type { OpenedStream } from './etcd-connections.js';
import type { EtcdWatcher } from './etcd-watcher.js';
import type { ResponseHeader, WatchResponse } from './stream-codecs.js';
import type { SeenHistory } from './seen-history.js';

export type WatchDuplex = ClientDuplexStream<object, WatchResponse>;

/** A create waits at most this many attach timeouts, answering member or not (see `waitForCreation`). */
const ATTACH_BACKSTOP = 10;

/** The first watch id a stream asks for: far above the ids etcd and its proxy choose (from 0), so an answer tells. */
const FIRST_ASKED_ID = 1_000_000_000;

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
  /** `watcher` was created at `header`, below the `expected` revision seen: a member behind, or one that lost data. */
  belowSeen(watcher: EtcdWatcher, header: ResponseHeader, expected: number): void;
  /** A create request went unanswered for the attach timeout. */
  unanswered(): void;
  /** The stream failed, or etcd ended it. */
  failed(error: Error): void;
}

/**
 * One Watch stream while it lives: the create requests it sends, etcd's id for each watch, and the
 * responses routed to their watchers. It decides nothing about failures: it tells its owner
 * (`WatchStream`).
 *
 * A create's answer does not say which request it answers. etcd answers creates in order and keeps
 * the id a create asks for (`watch_id`, etcd 3.4+), so once the first answer shows the ids kept, the
 * creates are sent all at once, not one round trip each: 1,000 watches were created in 1.4 s one at
 * a time on loopback. etcd grpc-proxy chooses its own ids and answers a watch that joins one it has
 * before one it must create on etcd: there, as on any member that does not keep the ids, creates go
 * one at a time, as Go's client sends them.
 */
export class WatchCall {
  readonly ended: boolean = false;
  private readonly byId = new Map<number, EtcdWatcher>();
  private readonly toCreate: EtcdWatcher[] = [];
  /** Sent, in order (answered in that order), with the id each asked for. */
  private readonly sent: { watcher: EtcdWatcher; askedId: number }[] = [];
  /** Whether the member keeps the ids asked for (then creates are sent without waiting); unknown until it answers. */
  private idsKept: boolean | undefined;
  private nextAskedId = FIRST_ASKED_ID;
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
    while (!this.ended && (this.sent.length === 0 || this.idsKept)) {
      let next = this.toCreate.shift();
      while (next?.cancelled) next = this.toCreate.shift();
      if (!next) return;
      if (this.sent.length === 0) this.waitForCreation(this.attachTimeoutMs);
      const askedId = this.nextAskedId++;
      this.sent.push({ watcher: next, askedId });
      this.send(next.createRequest(askedId));
    }
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
    this.breakStale(reason);
    watcher.broken(new Error(reason));
    this.events.over(watcher);
    this.events.lostData(reason);
  }

  /** etcd lost its data (`reason`): the watches created here before the loss was found deliver nothing more. */
  breakStale(reason: string): void {
    for (const [id, created] of this.byId) {
      if (created.epoch >= this.history.epoch) continue;
      this.byId.delete(id);
      this.send({ cancel_request: { watch_id: id } });
      created.broken(new Error(reason));
      this.events.over(created);
    }
  }

  private createdOne(response: WatchResponse): void {
    const { watcher, askedId } = this.sent.shift() ?? {};
    clearTimeout(this.attachTimer);
    if (this.sent.length > 0) this.waitForCreation(this.attachTimeoutMs);
    if (watcher && !response.canceled) {
      if (this.idsKept === undefined) this.idsKept = response.watch_id === askedId;
      else if (this.idsKept && response.watch_id !== askedId)
        return this.fail(new Error(`etcd at ${this.opened.member.address} answered watch creates out of order`));
    }
    if (watcher && response.canceled) {
      this.events.refused(watcher, response.cancel_reason);
    } else if (watcher) {
      const lost = watcher.cancelled ? undefined : this.history.lostData(response.header, watcher);
      if (watcher.cancelled || lost !== undefined) {
        this.send({ cancel_request: { watch_id: response.watch_id } });
        if (lost !== undefined) this.lost(watcher, lost);
      } else {
        const expected = this.history.belowSeen(response.header, watcher);
        this.history.saw(response.header);
        watcher.id = response.watch_id;
        watcher.refusals = 0;
        this.byId.set(response.watch_id, watcher);
        watcher.created(response.header.revision);
        this.events.created();
        if (expected !== undefined) this.events.belowSeen(watcher, response.header, expected);
      }
    }
    this.createNext();
  }
}
