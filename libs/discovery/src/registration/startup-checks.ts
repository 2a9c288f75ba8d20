import { Inject, Injectable } from '@nestjs/common';
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

/**
 * What 'fail-fast' start-up checks before the app serves: the lease is granted within
 * `connectTimeoutMs`, and etcd lets this process write the keys of every service it declares (a
 * lease needs no permission, so the grant alone cannot tell). An unreachable etcd, or credentials it
 * refuses, become an error here rather than an app that silently never registers.
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
    try {
      await withTimeout(this.reconciler.grantLease(), timeoutMs, () => this.unreachable(timeoutMs));
      for (const service of services) await this.checkWritable(service);
    } catch (error) {
      // A failed start gives back the lease it took: nothing may keep the process alive.
      await this.reconciler.close();
      throw error;
    }
  }

  private async checkWritable(service: string): Promise<void> {
    const prefix = servicePrefix(this.options.namespace, service);
    try {
      await this.gateway.checkWritable(`${prefix}.write-check`);
    } catch (error) {
      if (!isRefusal(error)) throw error;
      throw new EtcdUnavailableError(messages.etcdRefused(this.options.etcd.hosts, describeError(error), prefix));
    }
  }

  private unreachable(timeoutMs: number): EtcdUnavailableError {
    const failure = this.reconciler.lastFailure;
    const cause = failure === undefined ? 'no answer yet' : describeEtcdFailure(failure, this.options.etcd.hosts);
    return new EtcdUnavailableError(messages.etcdUnreachable(this.options.etcd.hosts, timeoutMs, cause));
  }
}
