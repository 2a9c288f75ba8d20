import { Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { RESOLVED_DISCOVERY_OPTIONS } from '../discovery.constants.js';
import { messages } from '../discovery.messages.js';
import { EtcdUnavailableError } from '../errors.js';
import { isRefusal } from '../etcd/refusal.js';
import type { ResolvedDiscoveryOptions } from '../options/discovery-module-options.interface.js';
import { DiscoverableExplorer } from '../registration/discoverable.explorer.js';
import { withTimeout } from '../util/with-timeout.js';
import { DiscoveryClient } from './discovery-client.js';
import { RequiredServices } from './required-services.js';

/**
 * Watches the services the app declares it calls (`requires`, DiscoveryClientsModule entries) from bootstrap, so that the first
 * `pick()` after the app is up sees the endpoints that exist. In 'fail-fast' mode bootstrap waits
 * for their first list; with `waitForRequiredMs`, also for one endpoint of each.
 */
@Injectable()
export class RequiredServicesLifecycle implements OnApplicationBootstrap {
  constructor(
    @Inject(RESOLVED_DISCOVERY_OPTIONS) private readonly options: ResolvedDiscoveryOptions,
    private readonly explorer: DiscoverableExplorer,
    private readonly discovery: DiscoveryClient,
    private readonly required: RequiredServices,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const services = [...new Set([...this.options.requires, ...this.explorer.requiredServices, ...this.required.all])];
    if (services.length === 0) return;
    const listed = this.discovery.watchRequired(services);
    if (this.options.registration === 'fail-fast') {
      const { connectTimeoutMs, etcd, namespace } = this.options;
      try {
        await withTimeout(listed, connectTimeoutMs, () => {
          const cause = services.map((service) => this.discovery.lastListError(service)).find((error) => error !== undefined);
          return new EtcdUnavailableError(messages.requiredListTimeout(services, connectTimeoutMs, cause?.message ?? 'no answer yet'));
        });
      } catch (error) {
        if (!isRefusal(error)) throw error;
        throw new EtcdUnavailableError(messages.etcdRefused(etcd.hosts, `${(error as Error).name}: ${(error as Error).message}`, `${namespace}/`));
      }
    } else {
      listed.catch(() => undefined);
    }
    if (this.options.waitForRequiredMs > 0) {
      const timeoutMs = this.options.waitForRequiredMs;
      await Promise.all(services.map((service) => this.discovery.waitFor(service, { count: 1, timeoutMs })));
    }
  }
}
