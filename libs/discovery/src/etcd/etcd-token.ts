import { Metadata } from '@grpc/grpc-js';
import type { CallContext, IOptions } from 'etcd3';
import { withDeadline } from './deadline.js';
import type { EtcdMember } from './etcd-member.js';
import { membersInTryOrder } from './member-order.js';
import { tokenRenewalTime } from './token-expiry.js';
import { resolveCallOptions, unaryCall } from './unary-call.js';

/**
 * The metadata every call and stream carries: etcd's require-leader flag (`hasleader`: a member cut
 * off from its cluster refuses at once instead of answering from stale data, and closes the streams
 * it serves), and with `etcd.auth` etcd's token for the user — asked for once, again before it
 * expires (a JWT says when), and again after etcd said it is no longer valid (simple tokens expire
 * when unused for `--auth-token-ttl`, and none survives an etcd restart). It is asked of the members
 * in the order every call uses (those that left a call unanswered last), over their own channels:
 * etcd3 opened a new channel for every authentication and never closed it.
 */
export class EtcdToken {
  private pending: Promise<Metadata> | undefined;
  /** The metadata of the newest token, once etcd gave it. */
  private current: Metadata | undefined;
  private renewAt = Infinity;
  private readonly withoutAuth = requireLeader(new Metadata());

  constructor(
    private readonly auth: IOptions['auth'],
    private readonly members: readonly EtcdMember[],
    private readonly defaultCallOptions: IOptions['defaultCallOptions'],
    private readonly callTimeoutMs: number,
  ) {}

  metadata(): Promise<Metadata> {
    if (!this.auth) return Promise.resolve(this.withoutAuth);
    if (Date.now() >= this.renewAt) {
      // Calls made meanwhile wait for the new token (a few ms), not for the old one's expiry.
      this.renewAt = Infinity;
      this.pending = undefined;
    }
    this.pending ??= this.authenticate(this.auth);
    return this.pending;
  }

  /** Whether `metadata` carries the newest token there is (a stream opened before a renewal does not). */
  isCurrent(metadata: Metadata): boolean {
    return !this.auth || metadata === this.current;
  }

  /**
   * etcd rejected the token that `stale` carried: the next call authenticates again — unless a newer
   * token was asked for meanwhile (many calls and streams report the same stale token at once).
   */
  invalidate(stale?: Metadata): void {
    if (stale === undefined || stale === this.current) {
      this.pending = undefined;
      this.current = undefined;
    }
  }

  private async authenticate({ username: name, password, callOptions }: NonNullable<IOptions['auth']>): Promise<Metadata> {
    const context = { service: 'Auth', method: 'authenticate', isStream: false, params: { name, password } } as CallContext;
    const order = membersInTryOrder(this.members);
    let lastError: unknown;
    for (let tried = 0; tried < this.members.length; tried += 1) {
      const member = order.next().value;
      // A deadline unless the user set one: a frozen member must not hold every call up forever.
      const options = { ...withDeadline(this.callTimeoutMs), ...resolveCallOptions(resolveCallOptions(undefined, callOptions, context), this.defaultCallOptions, context) };
      try {
        const { token } = await unaryCall<{ token: string }>(member.client('Auth'), 'authenticate', { name, password }, requireLeader(new Metadata()), options);
        const metadata = requireLeader(new Metadata());
        metadata.set('token', token);
        this.current = metadata;
        this.renewAt = tokenRenewalTime(token, Date.now());
        return metadata;
      } catch (error) {
        lastError = error;
      }
    }
    this.pending = undefined;
    throw lastError;
  }
}

/** etcd's require-leader metadata (`rpctypes.MetadataRequireLeaderKey`). */
function requireLeader(metadata: Metadata): Metadata {
  metadata.set('hasleader', 'true');
  return metadata;
}
