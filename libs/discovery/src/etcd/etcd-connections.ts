import type { CallOptions, Client, Metadata } from '@grpc/grpc-js';
import { handleWhen, noop, retry, type CircuitBreakerPolicy, type IPolicy } from 'cockatiel';
import {
  castGrpcError,
  ClientClosedError,
  EtcdInvalidAuthTokenError,
  isRecoverableError,
  type CallOptionsFactory,
  type ICallable,
  type IOptions,
} from 'etcd3';
import { Listeners } from '../util/listeners.js';
import { channelCredentials, withoutScheme } from './channel-credentials.js';
import { EtcdMember } from './etcd-member.js';
import { callFirstMemberThrough } from './first-member-through.js';
import { SeenHistory } from './seen-history.js';
import { membersInTryOrder } from './member-order.js';
import type { EtcdServiceName } from './etcd-services.js';
import { EtcdToken } from './etcd-token.js';
import { ReconnectSignal } from './reconnect-signal.js';
import { execUnary } from './unary-exec.js';

/** How long a member that left a call unanswered is tried after the others. */
const UNANSWERED_MS = 10_000;

/** A stream opened by `openStream`: where, and with which token (a stale one is told apart). */
export interface OpenedStream<S> {
  stream: S;
  member: EtcdMember;
  metadata: Metadata;
}

/**
 * The connections of one etcd client: one `EtcdMember` per host in `etcd.hosts`, each with a single
 * channel kept for the client's life. It takes the place of etcd3's `ConnectionPool` under etcd3's
 * own RPC clients and request builders (they need only etcd3's `ICallable`), and keeps its behaviour
 * — hosts tried in a shuffled order (`membersInTryOrder`), the `faultHandling` policies, `auth`,
 * `credentials`, `defaultCallOptions` — except that a failure never closes a channel (see
 * `EtcdMember`): an app holds at most one connection per member, whatever happened before. The
 * library's own streams (`WatchStream`, `LeaseKeepAlives`) open here too.
 */
export class EtcdConnections implements ICallable<EtcdMember> {
  readonly callOptionsFactory: CallOptionsFactory | undefined;
  readonly members: readonly EtcdMember[];
  readonly token: EtcdToken;
  /**
   * How far the app has seen etcd's history go (answers, watch responses): a member that lost its data is told by it.
   */
  readonly history = new SeenHistory();
  private readonly globalPolicy: IPolicy;
  private readonly connected = new ReconnectSignal();
  private readonly unanswered = new Listeners<[EtcdMember]>();
  private streamMember: EtcdMember | undefined; // the last stream's: the next goes there too while it answers
  private closed = false;

  constructor(options: IOptions & { hosts: string[] }, callTimeoutMs: number) {
    const credentials = channelCredentials(options.hosts, options.credentials);
    this.members = options.hosts.map((host) => {
      const policy = options.faultHandling?.host?.(host) ?? noop;
      return new EtcdMember(
        withoutScheme(host),
        credentials,
        options.grpcOptions ?? {},
        policy,
        this.connected.memberReady,
      );
    });
    this.globalPolicy = options.faultHandling?.global ?? retry(handleWhen(isRecoverableError), { maxAttempts: 3 });
    this.callOptionsFactory = options.defaultCallOptions;
    this.token = new EtcdToken(options.auth, this.members, options.defaultCallOptions, callTimeoutMs);
  }

  /** One unary call (see `execUnary`): etcd3's request builders come here. */
  exec<T>(service: EtcdServiceName, method: string, params: unknown, options?: CallOptions): Promise<T> {
    return execUnary<T>(this, this.globalPolicy, { service, method, params, options });
  }

  /**
   * Runs `fn` with a client of `service` on the first member, in `order`, whose policy lets the call
   * through (one whose circuit is open is skipped: see `callFirstMemberThrough`), with the token (see
   * `TokenMetadata` for `requireLeader`). What `fn` throws is thrown as is.
   */
  async withConnection<R>(
    service: EtcdServiceName,
    fn: (args: { resource: EtcdMember; client: Client; metadata: Metadata }) => Promise<R> | R,
    order: Iterator<EtcdMember> = membersInTryOrder(this.members),
    requireLeader = false,
  ): Promise<R> {
    if (this.closed) throw new ClientClosedError(service);
    const metadata = (await this.token.metadata())[requireLeader ? 'requireLeader' : 'plain'];
    const call = (member: EtcdMember) => fn({ resource: member, client: member.client(service), metadata });
    return callFirstMemberThrough(order, this.members.length, call, (member) => this.markUnanswered(member));
  }

  /**
   * Opens a stream of `service` (a watch, a keepalive) with `open`, with the token and the
   * require-leader flag (see `EtcdToken`): on the member the app's other stream is on while it
   * answers — as Go's client keeps its streams on one connection — else on the first in try order
   * whose policy lets it through. Together, the keepalives check the member the watches are on: a
   * member cut off from its cluster cannot renew a lease, and both streams leave it at once.
   */
  openStream<S>(service: EtcdServiceName, open: (client: Client, metadata: Metadata) => S): Promise<OpenedStream<S>> {
    return this.withConnection(
      service,
      ({ resource, client, metadata }) => {
        this.streamMember = resource;
        return { stream: open(client, metadata), member: resource, metadata };
      },
      this.streamMemberFirst(),
      true,
    );
  }

  private *streamMemberFirst(): Generator<EtcdMember> {
    const preferred = this.streamMember;
    const usable = preferred !== undefined && !preferred.unanswered && !preferred.down;
    if (usable) yield preferred;
    for (const member of membersInTryOrder(this.members)) if (!usable || member !== preferred) yield member;
  }

  /**
   * A stream (a watch, a keepalive) on `member` failed: its policy counts the failure (the channel
   * reconnects by itself), a token etcd no longer knows (`metadata`'s) is renewed for the next one,
   * and a member that has lost its cluster's leader (etcd closes require-leader streams then) is
   * tried last: it would refuse the next stream too.
   */
  markFailed(member: EtcdMember, error: Error, metadata?: Metadata): void {
    const failure = castGrpcError(error);
    if (failure instanceof EtcdInvalidAuthTokenError) this.token.invalidate(metadata);
    if (isNoLeader(failure)) this.markUnanswered(member);
    member.policy.execute(() => Promise.reject(failure)).catch(() => undefined);
  }

  /**
   * `member` left a call or a stream's request unanswered past its deadline: it is tried after the others for a
   * while (`membersInTryOrder`), and streams on it move (`onUnanswered`). A frozen member keeps its TCP connection.
   */
  markUnanswered(member: EtcdMember): void {
    member.markUnanswered(UNANSWERED_MS);
    this.unanswered.tell(member);
  }

  /** Calls `listener` with each member found unanswering (`markUnanswered`); returns what stops it. */
  onUnanswered(listener: (member: EtcdMember) => void): () => void {
    return this.unanswered.add(listener);
  }

  /** Whether some member other than `member` has not been found unanswering lately: somewhere to move to. */
  hasAlternativeTo(member: EtcdMember): boolean {
    return this.members.some((other) => other !== member && !other.unanswered);
  }

  /**
   * Holds the members whose connection is stuck (see `EtcdMember.stalled`) out of every pick for `ms` — their
   * circuit breakers held open — so that a stream restarted because of one goes to another member instead of back to
   * it at random. Never all of them (every call would fail). Only cockatiel's circuit breaker can be held so.
   */
  isolateStalled(ms: number): void {
    const stalled = this.members.filter((member) => member.stalled && isolatable(member.policy));
    if (stalled.length === 0 || stalled.length >= this.members.length) return;
    for (const member of stalled) {
      const isolation = (member.policy as CircuitBreakerPolicy).isolate();
      setTimeout(() => isolation.dispose(), ms).unref();
    }
  }

  /** Calls `listener` soon after a member's connection is ready (see `ReconnectSignal`); returns what stops it. */
  onConnected(listener: () => void): () => void {
    return this.connected.add(listener);
  }

  close(): void {
    this.closed = true;
    this.connected.close();
    this.unanswered.clear();
    for (const member of this.members) member.close();
  }
}

const isNoLeader = (error: Error) => error.message.includes('no leader');

const isolatable = (policy: IPolicy) => typeof (policy as Partial<CircuitBreakerPolicy>).isolate === 'function';
