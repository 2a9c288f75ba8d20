import { Metadata } from '@grpc/grpc-js';
import type { CallContext, IOptions } from 'etcd3';
import { withDeadline } from './deadline.js';
import type { EtcdMember } from './etcd-member.js';
import { membersInTryOrder } from './member-order.js';
import { tokenRenewalTime } from './token-expiry.js';
import { resolveCallOptions, unaryCall } from './unary-call.js';

/** The metadata of one token: as it is, and with etcd's require-leader flag. */
export interface TokenMetadata {
  plain: Metadata;
  /**
   * With `hasleader`: a member cut off from its cluster refuses the request at once instead of
   * answering from stale data, and closes the stream when it loses its leader. For streams and
   * serializable reads; a write or a linearizable read waits for a leader, and fails over an election.
   */
  requireLeader: Metadata;
}

/**
 * The metadata calls and streams carry: with `etcd.auth` etcd's token for the user — asked for once,
 * again before it expires (a JWT says when), and again after etcd said it is no longer valid (simple
 * tokens expire when unused for `--auth-token-ttl`, and none survives an etcd restart). It is asked of
 * the members in the order every call uses (those that left a call unanswered last), over their own
 * channels: etcd3 opened a new channel for every authentication and never closed it.
 */
export class EtcdToken {
  private pending: Promise<TokenMetadata> | undefined;
  /** The metadata of the newest token, once etcd gave it. */
  private current: TokenMetadata | undefined;
  private renewAt = Infinity;
  private readonly withoutAuth = tokenMetadata(undefined);

  constructor(
    private readonly auth: IOptions['auth'],
    private readonly members: readonly EtcdMember[],
    private readonly defaultCallOptions: IOptions['defaultCallOptions'],
    private readonly callTimeoutMs: number,
  ) {}

  metadata(): Promise<TokenMetadata> {
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
    return !this.auth || metadata === this.current?.plain || metadata === this.current?.requireLeader;
  }

  /**
   * etcd rejected the token that `stale` carried: the next call authenticates again — unless a newer
   * token was asked for meanwhile (many calls and streams report the same stale token at once).
   */
  invalidate(stale?: Metadata): void {
    if (stale === undefined || this.isCurrent(stale)) {
      this.pending = undefined;
      this.current = undefined;
    }
  }

  private async authenticate({
    username: name,
    password,
    callOptions,
  }: NonNullable<IOptions['auth']>): Promise<TokenMetadata> {
    const context = {
      service: 'Auth',
      method: 'authenticate',
      isStream: false,
      params: { name, password },
    } as CallContext;
    const order = membersInTryOrder(this.members);
    let lastError: unknown;
    for (let tried = 0; tried < this.members.length; tried += 1) {
      const member = order.next().value;
      // A deadline unless the user set one: a frozen member must not hold every call up forever.
      const options = {
        ...withDeadline(this.callTimeoutMs),
        ...resolveCallOptions(resolveCallOptions(undefined, callOptions, context), this.defaultCallOptions, context),
      };
      try {
        const { token } = await unaryCall<{ token: string }>(
          member.client('Auth'),
          'authenticate',
          { name, password },
          new Metadata(),
          options,
        );
        const metadata = tokenMetadata(token);
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

function tokenMetadata(token: string | undefined): TokenMetadata {
  const plain = new Metadata();
  if (token !== undefined) plain.set('token', token);
  const requireLeader = plain.clone();
  requireLeader.set('hasleader', 'true'); // etcd's rpctypes.MetadataRequireLeaderKey
  return { plain, requireLeader };
}
