import type { ClientDuplexStream } from '@grpc/grpc-js';
import { castGrpcError, ClientClosedError } from 'etcd3';
import type { EtcdConnections, OpenedStream } from './etcd-connections.js';
import type { KeepAliveRequest, KeepAliveResponse } from './stream-codecs.js';

type KeepAliveCall = ClientDuplexStream<KeepAliveRequest, KeepAliveResponse>;

/** A keepalive sent and not answered yet. */
interface Waiter {
  leaseId: string;
  sentAt: number;
  timer: NodeJS.Timeout;
  resolve(ttl: number): void;
  reject(error: Error): void;
}

interface KeepAliveStream extends OpenedStream<KeepAliveCall> {
  waiters: Waiter[];
  ended: boolean;
}

/**
 * The app's lease keepalives, on one long-lived LeaseKeepAlive stream as etcd's Go client keeps them
 * (etcd3 opened one per lease; the library used to open one per keepalive: a stream set up and torn
 * down every TTL/3, most of an app's CPU at rest). The stream is opened on first use, on a member
 * picked as every call's is, with the require-leader flag (etcd closes it when its member loses the
 * cluster), and kept until it fails. Each keepalive waits for its answer at most the time its caller
 * gives, shorter on a member known to answer fast (`EtcdMember.answerWaitMs`); one left unanswered
 * marks its member (it is tried last for a while) and drops the stream: etcd answers a stream's
 * keepalives one after the other, so one stuck behind a frozen leader holds up every later one, and
 * the next keepalive goes out on a new stream, elsewhere. A stream on a member found unanswering by
 * any other call moves too. Through `etcd grpc-proxy`, whose answers come at its own renewals
 * (up to TTL/3 later), the caller's longer wait applies.
 */
export class LeaseKeepAlives {
  /** The open stream, until it ends. */
  private stream: KeepAliveStream | undefined;
  private opening: Promise<KeepAliveStream> | undefined;
  private closed = false;
  /** The last keepalive sent, encoded once (the same lease, every time). */
  private request: KeepAliveRequest = { ID: '' };
  private readonly stopFollowing: () => void;

  constructor(private readonly connections: EtcdConnections) {
    this.stopFollowing = connections.onUnanswered((member) => {
      if (this.stream?.member === member && connections.hasAlternativeTo(member))
        this.drop(this.stream, new Error(`etcd at ${member.address} left a call unanswered`));
    });
  }

  /**
   * Sends one keepalive for `leaseId` and resolves with the TTL etcd answers (≤ 0: it no longer knows
   * the lease). Rejects when the stream fails, or when no answer came within `longestWaitMs`.
   */
  keepAlive(leaseId: string, longestWaitMs: number): Promise<number> {
    if (this.closed) return Promise.reject(new ClientClosedError('Lease'));
    // At rest the stream is open: no await on the way (an app sends one a third of its TTL).
    if (this.stream) return this.send(this.stream, leaseId, longestWaitMs);
    this.opening ??= this.open().finally(() => (this.opening = undefined));
    return this.opening.then((opened) => this.send(opened, leaseId, longestWaitMs));
  }

  private send(opened: KeepAliveStream, leaseId: string, longestWaitMs: number): Promise<number> {
    if (opened.ended)
      return Promise.reject(
        new Error(`the keepalive stream to etcd at ${opened.member.address} ended before the keepalive was sent`),
      );
    const waitMs = opened.member.answerWaitMs(longestWaitMs);
    return new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => this.unanswered(opened, waitMs), waitMs);
      opened.waiters.push({ leaseId, sentAt: Date.now(), timer, resolve, reject });
      if (this.request.ID !== leaseId) this.request = { ID: leaseId };
      opened.stream.write(this.request);
    });
  }

  /** Ends the stream (the lease was revoked before, or expires on its own). */
  close(): void {
    this.closed = true;
    this.stopFollowing();
    if (this.stream) this.drop(this.stream, new ClientClosedError('Lease'), false);
  }

  private async open(): Promise<KeepAliveStream> {
    const opened = await this.connections.openStream('Lease', (client, metadata) =>
      (client as unknown as { leaseKeepAlive: (metadata: unknown) => KeepAliveCall }).leaseKeepAlive(metadata),
    );
    const stream: KeepAliveStream = { ...opened, waiters: [], ended: false };
    stream.stream.on('data', (response: KeepAliveResponse) => this.answered(stream, response));
    stream.stream.on('error', (error: Error) => this.failed(stream, error));
    stream.stream.on('end', () =>
      this.failed(stream, new Error(`etcd at ${stream.member.address} ended the keepalive stream`)),
    );
    this.stream = stream;
    if (this.closed) this.drop(stream, new ClientClosedError('Lease'), false);
    return stream;
  }

  private answered(stream: KeepAliveStream, response: KeepAliveResponse): void {
    stream.member.heardAt = Date.now();
    const { waiters } = stream;
    // Answers come in order: the first waiter's, almost always (one lease, one keepalive at a time).
    const index =
      waiters[0]?.leaseId === response.ID ? 0 : waiters.findIndex((waiter) => waiter.leaseId === response.ID);
    if (index < 0) return;
    const waiter = index === 0 ? waiters.shift()! : waiters.splice(index, 1)[0];
    clearTimeout(waiter.timer);
    stream.member.recordAnswer(stream.member.heardAt - waiter.sentAt);
    waiter.resolve(response.TTL);
  }

  private unanswered(stream: KeepAliveStream, waitMs: number): void {
    if (stream.ended) return;
    stream.member.recordAnswer(undefined);
    this.drop(stream, new Error(`no keepalive answer from etcd at ${stream.member.address} within ${waitMs} ms`));
    this.connections.markUnanswered(stream.member);
  }

  private failed(stream: KeepAliveStream, error: Error): void {
    if (stream.ended) return; // dropped by us: the cancel's error is ours
    this.connections.markFailed(stream.member, error, stream.metadata);
    this.drop(stream, castGrpcError(error));
  }

  /** Ends `stream`, rejecting what waits on it: the next keepalive opens another. */
  private drop(stream: KeepAliveStream, reason: Error, cancel = true): void {
    if (stream.ended) return;
    stream.ended = true;
    if (this.stream === stream) this.stream = undefined;
    for (const waiter of stream.waiters.splice(0)) {
      clearTimeout(waiter.timer);
      waiter.reject(reason);
    }
    if (cancel) stream.stream.cancel();
    else stream.stream.end();
  }
}
