import { credentials as grpcCredentials, type CallOptions, type ChannelCredentials, type Client, type Metadata } from '@grpc/grpc-js';
import { handleWhen, isBrokenCircuitError, noop, retry, type CircuitBreakerPolicy, type IPolicy } from 'cockatiel';
import {
  castGrpcError,
  ClientClosedError,
  EtcdInvalidAuthTokenError,
  GRPCDeadlineExceededError,
  isRecoverableError,
  type CallContext,
  type CallOptionsFactory,
  type ICallable,
  type IOptions,
} from 'etcd3';
import { EtcdMember } from './etcd-member.js';
import { membersInTryOrder } from './member-order.js';
import type { EtcdServiceName } from './etcd-services.js';
import { EtcdToken } from './etcd-token.js';
import { resolveCallOptions, unaryCall } from './unary-call.js';

/** How long a member that left a call unanswered is tried after the others. */
const UNANSWERED_MS = 10_000;
/** A call that failed its deadline sooner than this did not give the member a fair chance to answer. */
const MIN_FAIR_WAIT_MS = 100;

/**
 * The connections of one etcd client: one `EtcdMember` per host in `etcd.hosts`, each with a single
 * channel kept for the client's life. It takes the place of etcd3's `ConnectionPool` under etcd3's
 * own RPC clients, watch manager and request builders (they need only etcd3's `ICallable`), and
 * keeps its behaviour — hosts tried in a shuffled order (`membersInTryOrder`), the `faultHandling`
 * policies, `auth`, `credentials`, `defaultCallOptions` — except that a failure never closes a
 * channel (see `EtcdMember`): an app holds at most one connection per member, whatever happened
 * before.
 */
export class EtcdConnections implements ICallable<EtcdMember> {
  readonly callOptionsFactory: CallOptionsFactory | undefined;
  readonly members: readonly EtcdMember[];
  private readonly globalPolicy: IPolicy;
  private readonly token: EtcdToken;
  private readonly connectedListeners = new Set<() => void>();
  private closed = false;

  constructor(options: IOptions & { hosts: string[] }, callTimeoutMs: number) {
    const credentials = channelCredentials(options.hosts, options.credentials);
    this.members = options.hosts.map((host) => {
      const policy = options.faultHandling?.host?.(host) ?? noop;
      return new EtcdMember(withoutScheme(host), credentials, options.grpcOptions ?? {}, policy, () => this.connected());
    });
    this.globalPolicy = options.faultHandling?.global ?? retry(handleWhen(isRecoverableError), { maxAttempts: 3 });
    this.callOptionsFactory = options.defaultCallOptions;
    this.token = new EtcdToken(options.auth, this.members, options.defaultCallOptions, callTimeoutMs);
  }

  /**
   * One unary call: through the global policy (retries), each attempt on the next member in a
   * shuffled order. A token etcd no longer knows (tokens do not survive an etcd restart) is renewed
   * and the call made once more — out here, not inside the member's policy: a call made from within
   * a circuit breaker's half-open trial would wait for that trial, which waits for it, and every
   * later call would wait behind both (etcd3's pool does just that).
   */
  async exec<T>(service: EtcdServiceName, method: string, params: unknown, options?: CallOptions): Promise<T> {
    try {
      return await this.execOnce<T>(service, method, params, options);
    } catch (error) {
      if (!(error instanceof EtcdInvalidAuthTokenError)) throw error;
      this.token.invalidate();
      return this.execOnce<T>(service, method, params, options);
    }
  }

  private async execOnce<T>(service: EtcdServiceName, method: string, params: unknown, options?: CallOptions): Promise<T> {
    const order = membersInTryOrder(this.members);
    const context = { service, method, params, isStream: false } as CallContext;
    let lastError: unknown;
    try {
      return await this.globalPolicy.execute(() =>
        this.withConnection(
          service,
          ({ client, metadata }) =>
            unaryCall<T>(client, method, params, metadata, resolveCallOptions(options, this.callOptionsFactory, context)).catch((error: unknown) => {
              lastError = error;
              throw error;
            }),
          order,
        ),
      );
    } catch (error) {
      // An open circuit says less than the error that opened it.
      if (isBrokenCircuitError(error) && lastError !== undefined && !isBrokenCircuitError(lastError)) throw lastError;
      throw error;
    }
  }

  /**
   * Runs `fn` with a client of `service` on the first member, in `order`, whose policy lets the
   * call through (a member whose circuit is open is skipped). What `fn` throws is thrown as is.
   */
  async withConnection<R>(
    service: EtcdServiceName,
    fn: (args: { resource: EtcdMember; client: Client; metadata: Metadata }) => Promise<R> | R,
    order: Iterator<EtcdMember> = membersInTryOrder(this.members),
  ): Promise<R> {
    if (this.closed) throw new ClientClosedError(service);
    const metadata = await this.token.metadata();
    let lastError: unknown;
    for (let tried = 0; tried < this.members.length; tried += 1) {
      const member = order.next().value as EtcdMember;
      let calledThrough = false;
      const startedAt = Date.now();
      try {
        return await member.policy.execute(() => {
          calledThrough = true;
          return fn({ resource: member, client: member.client(service), metadata });
        });
      } catch (error) {
        if (!calledThrough) {
          lastError = error;
          continue;
        }
        const failure = castGrpcError(error as Error);
        // Only if it had time to answer: a retry of a call whose deadline has passed fails at once, anywhere.
        if (failure instanceof GRPCDeadlineExceededError && Date.now() - startedAt >= MIN_FAIR_WAIT_MS) member.markUnanswered(UNANSWERED_MS);
        throw failure;
      }
    }
    throw castGrpcError(lastError as Error);
  }

  /**
   * A stream (a watch, a keepalive) on `member` failed: its policy counts the failure (the channel
   * reconnects by itself), and a token etcd no longer knows is renewed for the next stream.
   */
  markFailed(member: EtcdMember, error: Error): void {
    const failure = castGrpcError(error);
    if (failure instanceof EtcdInvalidAuthTokenError) this.token.invalidate();
    // A stream's deadline is its own (a keepalive's attempt): it had all of it.
    if (failure instanceof GRPCDeadlineExceededError) member.markUnanswered(UNANSWERED_MS);
    member.policy.execute(() => Promise.reject(failure)).catch(() => undefined);
  }

  /**
   * Holds the members whose connection is stuck (see `EtcdMember.stalled`) out of every pick for
   * `ms` — their circuit breakers held open — so that a watch restarted because of one goes to
   * another member instead of back to it at random. Never all of them: with none left, every call
   * would fail. Only a policy that can be isolated (cockatiel's circuit breaker) is held.
   */
  isolateStalled(ms: number): void {
    const stalled = this.members.filter((member) => member.stalled && isolatable(member.policy));
    if (stalled.length === 0 || stalled.length >= this.members.length) return;
    for (const member of stalled) {
      const isolation = (member.policy as CircuitBreakerPolicy).isolate();
      setTimeout(() => isolation.dispose(), ms).unref();
    }
  }

  /** Calls `listener` each time a member's connection becomes ready; returns what stops it. */
  onConnected(listener: () => void): () => void {
    this.connectedListeners.add(listener);
    return () => this.connectedListeners.delete(listener);
  }

  close(): void {
    this.closed = true;
    this.connectedListeners.clear();
    for (const member of this.members) member.close();
  }

  private connected(): void {
    for (const listener of this.connectedListeners) {
      try {
        listener();
      } catch {
        // A listener's bug must not stop the others, nor grpc-js' state callbacks.
      }
    }
  }
}

/**
 * TLS with the given certificates, or with the system's CAs when the hosts say `https://` (the
 * options checked at init that all do, or none); else plain.
 */
function channelCredentials(hosts: readonly string[], given: IOptions['credentials']): ChannelCredentials {
  if (given) return grpcCredentials.createSsl(given.rootCertificate, given.privateKey, given.certChain);
  return hosts.some((host) => host.startsWith('https://')) ? grpcCredentials.createSsl() : grpcCredentials.createInsecure();
}

function isolatable(policy: IPolicy): boolean {
  return typeof (policy as Partial<CircuitBreakerPolicy>).isolate === 'function';
}

function withoutScheme(host: string): string {
  return host.replace(/^https?:\/\//, '');
}
