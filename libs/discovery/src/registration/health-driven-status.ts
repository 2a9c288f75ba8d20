import { Inject, Injectable, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { RESOLVED_DISCOVERY_OPTIONS } from '../discovery.constants.js';
import type { ResolvedDiscoveryOptions } from '../options/discovery-module-options.interface.js';
import { withTimeout } from '../util/with-timeout.js';
import { ServiceRegistry } from './service-registry.js';

/**
 * Runs the `health` check of the options every `intervalMs` from bootstrap, and sets this app's
 * registrations `'down'` after `unhealthyThreshold` failures in a row, `'up'` after
 * `healthyThreshold` good checks. Checks never overlap: the next starts `intervalMs` after one
 * ends. Stopped before the registry drains at shutdown (this depends on it, so its hook runs first).
 */
@Injectable()
export class HealthDrivenStatus implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private failures = 0;
  private successes = 0;
  private down = false;

  constructor(
    @Inject(RESOLVED_DISCOVERY_OPTIONS) private readonly options: ResolvedDiscoveryOptions,
    private readonly registry: ServiceRegistry,
  ) {}

  onApplicationBootstrap(): void {
    if (this.options.health) this.schedule();
  }

  beforeApplicationShutdown(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.runCheck().finally(() => this.schedule()), this.options.health!.intervalMs);
    this.timer.unref();
  }

  private async runCheck(): Promise<void> {
    const { check, intervalMs, unhealthyThreshold, healthyThreshold } = this.options.health!;
    const healthy = await withTimeout(
      Promise.resolve().then(check),
      intervalMs,
      () => new Error('the health check did not answer'),
    )
      .then((result) => result !== false)
      .catch(() => false);
    if (this.stopped) return;
    this.failures = healthy ? 0 : this.failures + 1;
    this.successes = healthy ? this.successes + 1 : 0;
    if (!this.down && this.failures >= unhealthyThreshold) await this.turn(true);
    else if (this.down && this.successes >= healthyThreshold) await this.turn(false);
  }

  private async turn(down: boolean): Promise<void> {
    this.down = down;
    // Written in place by the registry's loop, which retries while etcd is away; the event says when.
    await this.registry.setStatus(down ? 'down' : 'up').catch(() => undefined);
  }
}
