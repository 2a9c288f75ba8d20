import type { LoggerService } from '@nestjs/common';
import { messages } from '../discovery.messages.js';
import { EtcdUnavailableError } from '../errors.js';
import { informativeError, isRefusal } from '../etcd/etcd-errors.js';
import { describeError, describeEtcdFailure } from '../etcd/failure-words.js';
import type { ResolvedDiscoveryOptions } from '../options/discovery-module-options.interface.js';

/**
 * What the registry makes of its failed attempts: the most informative error so far (for start-up's
 * message and the health report), and a refusal — credentials, permission — said once as an error,
 * with what to fix; retrying will not cure it, but the retries go on, in case it is granted later.
 */
export class AttemptFailures {
  /** The most informative error so far (an open circuit alone says less than what opened it). */
  last: unknown;
  private lastRefusal: string | undefined;

  constructor(
    private readonly options: ResolvedDiscoveryOptions,
    private readonly logger: LoggerService,
    /** Told of each refusal: start-up, waiting for the lease, learns it now. */
    private readonly onRefused: (error: EtcdUnavailableError) => void,
  ) {}

  /** Records a failure; returns it in words, for the `retrying` event. */
  record(error: unknown): string {
    this.last = informativeError(error, this.last);
    if (isRefusal(error)) this.refused(error);
    return describeEtcdFailure(this.last, this.options.etcd.hosts);
  }

  private refused(error: unknown): void {
    const refused = messages.etcdRefused(this.options.etcd.hosts, describeError(error), `${this.options.namespace}/`);
    this.onRefused(new EtcdUnavailableError(refused, { cause: error }));
    if (refused !== this.lastRefusal) this.logger.error(refused);
    this.lastRefusal = refused;
  }
}
