import { Injectable } from '@nestjs/common';
import { HealthIndicatorService, type HealthIndicatorResult } from '@nestjs/terminus';
import { DiscoveryStatus, type DiscoveryStatusReport } from '../discovery-status.js';

/**
 * A `@nestjs/terminus` health indicator: down while a registration of this app is not in etcd (its
 * lease is not alive) or a service it requires has no readable list, with the details — lease id,
 * registrations and their state, required services, etcd hosts, the last error — in the response.
 * Add it to the providers of a module that imports `TerminusModule`; it reads state the library
 * already keeps and sends nothing to etcd.
 */
@Injectable()
export class DiscoveryHealthIndicator {
  constructor(
    private readonly indicators: HealthIndicatorService,
    private readonly status: DiscoveryStatus,
  ) {}

  isHealthy<const Key extends string>(key: Key): HealthIndicatorResult<Key> {
    const { healthy, ...details }: DiscoveryStatusReport = this.status.report();
    const indicator = this.indicators.check(key);
    return healthy ? indicator.up(details) : indicator.down(details);
  }
}
