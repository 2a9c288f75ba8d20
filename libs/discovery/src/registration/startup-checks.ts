import { Inject, Injectable } from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';
import { servicePrefix } from '../codec/endpoint-key.js';
import { RESOLVED_DISCOVERY_OPTIONS } from '../discovery.constants.js';
import { messages } from '../discovery.messages.js';
import { EtcdUnavailableError } from '../errors.js';
import { isRefusal } from '../etcd/etcd-errors.js';
import { EtcdGateway } from '../etcd/etcd-gateway.js';
import { describeError, describeEtcdFailure } from '../etcd/failure-words.js';
import type { ResolvedDiscoveryOptions } from '../options/discovery-module-options.interface.js';
import { withTimeout } from '../util/with-timeout.js';
import { RegistrationReconciler } from './registration-reconciler.js';

/** How long to wait before asking again, within start-up's window, after a request failed. */
const RETRY_PAUSE_MS = 100;

/**
 * What 'fail-fast' start-up checks before the app serves: the lease is granted within
 * `connectTimeoutMs`, and etcd lets this process write the keys of every service it declares (a
 * lease needs no permission, so the grant alone cannot tell). An unreachable etcd, or credentials it
 * refuses, become an error here rather than an app that silently never registers. Each request has a
 * deadline of its own, shorter than the window (see `requestTimeoutMs`), and a failed one is asked
 * again within it: right after a cluster's leader died, the first request through `etcd grpc-proxy`
 * can hang for seconds while the next one answers at once.
 */
@Injectable()
export class StartupChecks {
  constructor(
    @Inject(RESOLVED_DISCOVERY_OPTIONS) private readonly options: ResolvedDiscoveryOptions,
    private readonly reconciler: RegistrationReconciler,
    private readonly gateway: EtcdGateway,
  ) {}

  async verify(services: readonly string[]): Promise<void> {
    const timeoutMs = this.options.connectTimeoutMs;
    const deadline = Date.now() + timeoutMs;
    try {
      await withTimeout(this.reconciler.grantLease(), timeoutMs, () => this.unreachable(timeoutMs));
      for (const service of services) await this.checkWritable(service, deadline);
    } catch (error) {
      // A failed start gives back the lease it took: nothing may keep the process alive.
      await this.reconciler.close();
      throw error;
    }
  }

  private async checkWritable(service: string, deadline: number): Promise<void> {
    const prefix = servicePrefix(this.options.namespace, service);
    for (;;) {
      try {
        return await this.gateway.checkWritable(`${prefix}.write-check`);
      } catch (error) {
        if (isRefusal(error))
          throw new EtcdUnavailableError(messages.etcdRefused(this.options.etcd.hosts, describeError(error), prefix), {
            cause: error,
          });
        if (Date.now() + RETRY_PAUSE_MS >= deadline) {
          const { hosts } = this.options.etcd;
          throw new EtcdUnavailableError(
            messages.etcdUnreachable(hosts, this.options.connectTimeoutMs, describeEtcdFailure(error, hosts)),
            { cause: error },
          );
        }
        await sleep(RETRY_PAUSE_MS);
      }
    }
  }

  private unreachable(timeoutMs: number): EtcdUnavailableError {
    const failure = this.reconciler.lastFailure;
    const cause = failure === undefined ? 'no answer yet' : describeEtcdFailure(failure, this.options.etcd.hosts);
    const message = messages.etcdUnreachable(this.options.etcd.hosts, timeoutMs, cause);
    return new EtcdUnavailableError(message, failure === undefined ? undefined : { cause: failure });
  }
}
