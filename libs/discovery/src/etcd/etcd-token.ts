import { Metadata } from '@grpc/grpc-js';
import type { CallContext, IOptions } from 'etcd3';
import { withDeadline } from './deadline.js';
import type { EtcdMember } from './etcd-member.js';
import { resolveCallOptions, unaryCall } from './unary-call.js';

/**
 * The metadata every call carries: with `etcd.auth`, etcd's token for the user, asked for once and
 * again after etcd said it is no longer valid (tokens do not survive an etcd restart). It is asked
 * of the members in order, over their own channels: etcd3 opened a new channel for every
 * authentication and never closed it, a connection per etcd restart.
 */
export class EtcdToken {
  private pending: Promise<Metadata> | undefined;

  constructor(
    private readonly auth: IOptions['auth'],
    private readonly members: readonly EtcdMember[],
    private readonly defaultCallOptions: IOptions['defaultCallOptions'],
    private readonly callTimeoutMs: number,
  ) {}

  metadata(): Promise<Metadata> {
    if (!this.auth) return Promise.resolve(new Metadata());
    this.pending ??= this.authenticate(this.auth);
    return this.pending;
  }

  /** etcd rejected the token: the next call authenticates again. */
  invalidate(): void {
    this.pending = undefined;
  }

  private async authenticate({ username: name, password, callOptions }: NonNullable<IOptions['auth']>): Promise<Metadata> {
    const context = { service: 'Auth', method: 'authenticate', isStream: false, params: { name, password } } as CallContext;
    let lastError: unknown;
    for (const member of this.members) {
      // A deadline unless the user set one: a frozen member must not hold every call up forever.
      const options = { ...withDeadline(this.callTimeoutMs), ...resolveCallOptions(resolveCallOptions(undefined, callOptions, context), this.defaultCallOptions, context) };
      try {
        const { token } = await unaryCall<{ token: string }>(member.client('Auth'), 'authenticate', { name, password }, new Metadata(), options);
        const metadata = new Metadata();
        metadata.set('token', token);
        return metadata;
      } catch (error) {
        lastError = error;
      }
    }
    this.pending = undefined;
    throw lastError;
  }
}
