import { Channel, connectivityState, type ChannelCredentials, type ChannelOptions, type Client } from '@grpc/grpc-js';
import type { IPolicy } from 'cockatiel';
import { ClientClosedError } from 'etcd3';
import { etcdServices, type EtcdServiceName } from './etcd-services.js';

/** Keepalive answer times remembered per member. */
const ANSWERS_KEPT = 8;
/** Answers a member gives from itself come within this; `etcd grpc-proxy`'s come up to TTL/3 late, few so soon. */
const PROMPT_ANSWER_MS = 100;
/** The shortest wait for a keepalive's answer: a busy member may take a few hundred ms now and then. */
const MIN_ANSWER_WAIT_MS = 500;

/**
 * One etcd member (or proxy) as this process talks to it: **one gRPC channel, hence one TCP
 * connection**, that every service client (KV, Lease, Watch, Auth …) shares, kept from the first
 * call to `close()`, and the member's fault policy (a circuit breaker unless the user gave another).
 *
 * The channel is never closed and re-made after a failure: grpc-js reconnects it by itself, with
 * its backoff. Closing channels on failures is what etcd3's own pool does, and with grpc-js 1.14
 * each closed channel whose connection was down left a subchannel behind that went on reconnecting
 * with nobody holding it — after an etcd restart, hundreds of idle connections per app.
 */
export class EtcdMember {
  private readonly channel: Channel;
  private readonly clients = new Map<EtcdServiceName, Client>();
  private closed = false;
  /** Until when it counts as unanswering (`markUnanswered`); 0 if it never was. */
  unansweredUntil = 0;
  /** When a stream on it last received anything (a keepalive's answer, a watch response): proof it is alive. */
  heardAt = 0;
  /** How long its last few keepalive answers took, slowest first kept (see `answerWaitMs`). */
  private readonly answerTimes: number[] = [];

  constructor(
    /** `host:port`, without `http://` or `https://`. */
    readonly address: string,
    private readonly credentials: ChannelCredentials,
    channelOptions: ChannelOptions,
    /** Guards every call to this member: the circuit breaker of etcd3's `faultHandling.host`. */
    readonly policy: IPolicy,
    /** Told each time the channel becomes ready: connected at last, or again after a failure. */
    private readonly onReady: () => void,
  ) {
    this.channel = new Channel(address, credentials, channelOptions);
    this.follow(this.channel.getConnectivityState(false));
  }

  /** The client of `service` on this member's channel. */
  client(service: EtcdServiceName): Client {
    if (this.closed) throw new ClientClosedError(service);
    let client = this.clients.get(service);
    if (!client) {
      const Service = etcdServices()[service];
      client = new Service(this.address, this.credentials, { channelOverride: this.channel });
      this.clients.set(service, client);
    }
    return client;
  }

  /**
   * Whether the connection is neither up nor idle: connecting (to a frozen member, a connect can
   * wait forever for the HTTP/2 handshake) or failed and backing off.
   */
  get stalled(): boolean {
    const state = this.channel.getConnectivityState(false);
    return state !== connectivityState.READY && state !== connectivityState.IDLE;
  }

  /** Whether its connection failed and it is waiting to dial again: the member is down (a call fails at once). */
  get down(): boolean {
    return this.channel.getConnectivityState(false) === connectivityState.TRANSIENT_FAILURE;
  }

  /**
   * Whether a call or stream on it got no answer before its deadline lately (`markUnanswered`): a
   * frozen or partitioned member keeps its TCP connection, so nothing else tells it from a live one.
   */
  get unanswered(): boolean {
    return Date.now() < this.unansweredUntil;
  }

  markUnanswered(forMs: number): void {
    this.unansweredUntil = Date.now() + forMs;
  }

  /** A keepalive sent on this member was answered after `ms`; undefined: it was not answered in time. */
  recordAnswer(ms: number | undefined): void {
    if (ms === undefined)
      this.answerTimes.length = 0; // known no more: the next wait is the longest
    else if (this.answerTimes.push(ms) > ANSWERS_KEPT) this.answerTimes.shift();
  }

  /**
   * How long to wait for this member's answer to a keepalive before leaving it for another, at most
   * `longestMs`. A member etcd answers from directly takes milliseconds: once its last 8 answers all
   * came within 100 ms, 4× the slowest of them (at least 500 ms) is enough to tell a frozen or
   * cut-off one quickly. `etcd grpc-proxy` answers at its own renewals, up to TTL/3 later (8 answers
   * in a row within 100 ms there: about 1 in 400,000): its waits stay the longest.
   */
  answerWaitMs(longestMs: number): number {
    if (this.answerTimes.length < ANSWERS_KEPT) return longestMs;
    const slowest = Math.max(...this.answerTimes);
    if (slowest >= PROMPT_ANSWER_MS) return longestMs;
    return Math.min(longestMs, Math.max(MIN_ANSWER_WAIT_MS, 4 * slowest));
  }

  /**
   * Watches the channel's state for the member's life. While the member is down, grpc-js keeps
   * dialling it on its backoff with or without calls, so the first moment it answers is seen here.
   */
  private follow(state: connectivityState): void {
    this.channel.watchConnectivityState(state, Infinity, () => {
      if (this.closed) return;
      const now = this.channel.getConnectivityState(false);
      if (now === connectivityState.READY && state !== connectivityState.READY) this.onReady();
      this.follow(now);
    });
  }

  /**
   * Closes the channel — at once if it is connected or idle. One still dialling a member that is down
   * is closed when that dial succeeds instead: grpc-js 1.14 goes on dialling a subchannel closed
   * between two attempts, and keeps the connection it then makes with nobody holding it (an app closed
   * during an outage held one connection per member for good). Its dialling keeps no process alive.
   */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.clients.clear();
    this.closeWhenSettled(this.channel.getConnectivityState(false));
  }

  private closeWhenSettled(state: connectivityState): void {
    if (state === connectivityState.READY || state === connectivityState.IDLE || state === connectivityState.SHUTDOWN) {
      this.channel.close();
      return;
    }
    // Out of grpc-js' state callback: pick_first asks its subchannel to connect right after telling
    // of READY, and after a close made from within that callback the subchannel connected anew.
    this.channel.watchConnectivityState(state, Infinity, () =>
      setImmediate(() => this.closeWhenSettled(this.channel.getConnectivityState(false))),
    );
  }
}
