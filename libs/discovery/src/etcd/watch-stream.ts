import { backoffDelay } from '../util/backoff.js';
import type { EtcdConnections } from './etcd-connections.js';
import type { WatchHandle, WatchHandlers } from './etcd-gateway.js';
import { EtcdWatcher, type WatchedRange } from './etcd-watcher.js';
import { DataLosses } from './data-losses.js';
import { ReopenBackoff, REOPEN_INITIAL_MS } from './reopen-backoff.js';
import { WatchCall, type WatchDuplex } from './watch-call.js';
import { WatchSilence } from './watch-silence.js';

export interface WatchStreamSettings {
  /** etcd must answer a create request within this, or the stream moves to another member. */
  attachTimeoutMs: number;
  /** A member silent for `silenceMs` (default 10 s) must answer a check within this (see `checkAlive`). */
  checkTimeoutMs: number;
  silenceMs?: number;
  /** Told once per refused watch (permissions). */
  warn(message: string): void;
}

/** A watch refused with a fresh token too is asked again after a backoff up to this. */
const REFUSED_MAX_MS = 30_000;

/**
 * The app's watches on one Watch stream (as etcd3 and Go's client share one), written here rather
 * than on etcd3's watch manager, which resumes from the wrong revision and cannot be told where to go:
 * - every watch resumes on a new stream exactly where it left off (see `EtcdWatcher`): a member
 *   restart or a move costs one create request per watch, no list; a member that lost its data is
 *   told apart (`SeenHistory`), and then the watch's owner lists again;
 * - the stream carries the require-leader flag: etcd closes it when its member loses the cluster;
 * - a stream on a member found unanswering (a keepalive or a call left unanswered, or a create
 *   request here) moves to another member at once: a frozen member keeps its TCP connection, and a
 *   watch on it would wait, silent;
 * - etcd checks permissions when a watch is created, with the token the stream was opened with: a
 *   refusal on a stream with an old token (renewed since, or expired unused) re-opens the stream with
 *   a new one; a refusal with a fresh token is asked again after a backoff, never in a loop;
 * - after a failure the stream re-opens after a short jittered backoff, or as soon as a member is back.
 */
export class WatchStream {
  private readonly watchers = new Set<EtcdWatcher>();
  private call: WatchCall | undefined;
  private opening = false;
  private readonly reopen = new ReopenBackoff(() => void this.open());
  private closed = false;
  private readonly losses: DataLosses;
  private readonly silence: WatchSilence;
  private readonly stopFollowing: (() => void)[];

  constructor(
    private readonly connections: EtcdConnections,
    private readonly settings: WatchStreamSettings,
  ) {
    this.losses = new DataLosses(
      connections,
      settings,
      (reason) => this.call?.breakStale(reason), // the stream may have moved meanwhile: its watches too
      () => this.closed,
    );
    this.silence = new WatchSilence(connections, settings, () => ({
      call: this.call,
      watcher: this.watchers.values().next().value,
    }));
    this.stopFollowing = [
      connections.onUnanswered((member) => {
        if (this.call?.opened.member === member && connections.hasAlternativeTo(member)) this.restart();
      }),
      connections.onConnected(() => {
        if (this.reopen.waiting) this.reopen.now();
      }),
    ];
  }

  /** Watches `range` from `fromRevision` on (0: from now on). */
  watch(range: WatchedRange, fromRevision: number, handlers: WatchHandlers): WatchHandle {
    const watcher = new EtcdWatcher(range, fromRevision, this.connections.history.epoch, handlers);
    this.watchers.add(watcher);
    if (this.call) this.call.create(watcher);
    else void this.open();
    return { cancel: async () => this.cancel(watcher) };
  }

  close(): void {
    this.closed = true;
    for (const stop of this.stopFollowing) stop();
    this.reopen.cancel();
    for (const watcher of this.watchers) watcher.cancelled = true;
    this.watchers.clear();
    this.endCall();
  }

  private cancel(watcher: EtcdWatcher): void {
    if (!this.watchers.delete(watcher)) return;
    watcher.cancelled = true;
    this.call?.cancel(watcher);
    // With no watch left the stream ends (etcd3 does the same); the next watch opens another.
    if (this.watchers.size === 0) {
      this.endCall();
      this.connections.history.streamIdle();
    }
  }

  private async open(): Promise<void> {
    if (this.opening || this.call || this.closed || this.watchers.size === 0) return;
    this.opening = true;
    this.reopen.cancel();
    try {
      const opened = await this.connections.openStream('Watch', (client, metadata) =>
        (client as unknown as { watch: (metadata: unknown) => WatchDuplex }).watch(metadata),
      );
      const call = new WatchCall(opened, this.connections.history, this.settings.attachTimeoutMs, {
        created: () => this.reopen.succeeded(),
        refused: (watcher, reason) => this.refused(call, watcher, reason),
        over: (watcher) => this.watchers.delete(watcher),
        lostData: (reason) => this.losses.found(reason),
        belowSeen: (watcher, header, expected) => void this.losses.belowSeen(watcher, header, expected),
        unanswered: () => this.unanswered(call),
        failed: (error) => this.failed(call, error),
      });
      this.call = call;
      this.silence.follow();
      if (this.closed || this.watchers.size === 0) return this.endCall();
      for (const watcher of this.watchers) call.create(watcher);
    } catch {
      // No member to open it on now (etcd unreachable, every circuit open): later.
      this.noteOutage();
      this.reopenLater();
    } finally {
      this.opening = false;
    }
  }

  /**
   * etcd refused to create `watcher` (or cancelled it without a compaction). A stream opened with a
   * token that is not the newest is re-opened with the newest; the first refusal with the newest
   * renews it (simple tokens expire unused); after that, it is a refusal: asked again after a backoff.
   */
  private refused(call: WatchCall, watcher: EtcdWatcher, reason: string): void {
    if (watcher.cancelled || call !== this.call) return;
    watcher.refusals += 1;
    const { token } = this.connections;
    if (watcher.refusals === 1 || !token.isCurrent(call.opened.metadata)) {
      token.invalidate(call.opened.metadata);
      return this.restart();
    }
    if (watcher.refusals === 2)
      this.settings.warn(
        `etcd refused the watch on ${watcher.name} (${reason || 'no reason given'}); asking again in the background`,
      );
    setTimeout(
      () => {
        if (!watcher.cancelled && this.call === call) call.create(watcher);
      },
      REOPEN_INITIAL_MS + backoffDelay(watcher.refusals, 1000, REFUSED_MAX_MS),
    ).unref();
  }

  /** A member that is frozen or cut off still accepts the stream, and answers nothing. */
  private unanswered(call: WatchCall): void {
    this.connections.markUnanswered(call.opened.member);
    this.connections.isolateStalled(2 * this.settings.attachTimeoutMs);
    if (call === this.call) this.restart();
  }

  private failed(call: WatchCall, error: Error): void {
    this.connections.markFailed(call.opened.member, error, call.opened.metadata);
    this.noteOutage();
    if (call !== this.call) return;
    this.call = undefined;
    this.reopenLater();
  }

  /** Every member unreachable (down, or still dialling): see `SeenHistory.outage`. */
  private noteOutage(): void {
    this.connections.history.streamFailed();
    if (this.connections.members.every((member) => member.stalled)) this.connections.history.outage();
  }

  /** Moves every watch to a new stream now, each from where it left off. */
  private restart(): void {
    this.endCall();
    void this.open();
  }

  private reopenLater(): void {
    if (!this.closed && this.watchers.size > 0) this.reopen.later();
  }

  private endCall(): void {
    this.call?.end();
    this.call = undefined;
    this.silence.stop();
  }
}
