import { Inject, Injectable } from '@nestjs/common';
import { RESOLVED_DISCOVERY_OPTIONS } from '../discovery.constants.js';
import type { ResolvedDiscoveryOptions } from '../options/discovery-module-options.interface.js';
import type { RelistReason } from '../watch/relist-reason.js';
import { discoveryMeter, type DiscoveryMeter, type MetricAttributes, type Observe } from './discovery-meter.js';

/** Totals by attribute set, reported as an observable counter. */
class Totals {
  private readonly byKey = new Map<string, { attributes: MetricAttributes; total: number }>();

  add(key: string, attributes: () => MetricAttributes): void {
    let entry = this.byKey.get(key);
    if (entry === undefined) this.byKey.set(key, (entry = { attributes: attributes(), total: 0 }));
    entry.total += 1;
  }

  report(observe: Observe): void {
    for (const { attributes, total } of this.byKey.values()) observe(total, attributes);
  }
}

/**
 * The metrics of discovery itself (an internal provider), besides those of calls: what the parts
 * that eject, hold, re-list and keep the lease tell it, as counters, and the gauges those parts
 * read out when the SDK collects. Without `@opentelemetry/api` every method returns at once.
 */
@Injectable()
export class DiscoveryMetrics {
  private readonly meter: DiscoveryMeter | undefined = discoveryMeter();
  private readonly ejections = new Totals();
  private readonly holds = new Totals();
  private readonly relists = new Totals();
  private readonly policyRejections = new Totals();
  private keepaliveFailures = 0;
  /** Ejections are by instance as well (`metrics.perInstance`). */
  private readonly perInstance: boolean;

  constructor(@Inject(RESOLVED_DISCOVERY_OPTIONS) options: Pick<ResolvedDiscoveryOptions, 'metrics'>) {
    this.perInstance = options.metrics.perInstance;
    const meter = this.meter;
    meter?.observableCounter('discovery.ejections', 'Endpoints ejected for failing calls', '{ejection}', (observe) =>
      this.ejections.report(observe),
    );
    meter?.observableCounter(
      'discovery.self_preservation.holds',
      'Removals held by self-preservation',
      '{hold}',
      (observe) => this.holds.report(observe),
    );
    meter?.observableCounter(
      'discovery.watch.relists',
      'Lists of a watched prefix after the first',
      '{relist}',
      (observe) => this.relists.report(observe),
    );
    meter?.observableCounter(
      'discovery.policy.rejections',
      'Traffic policy documents read and not applied (the last good one stays)',
      '{rejection}',
      (observe) => this.policyRejections.report(observe),
    );
    meter?.observableCounter(
      'discovery.lease.keepalive.failures',
      "Failed keepalive attempts of this app's lease",
      '{failure}',
      (observe) => {
        observe(this.keepaliveFailures, {});
      },
    );
  }

  /** Whether metrics are recorded (the API is installed): parts skip preparing what nobody reads. */
  get enabled(): boolean {
    return this.meter !== undefined;
  }

  /** A gauge whose points `report` gives when the SDK collects (nothing without the API). */
  gauge(name: string, description: string, unit: string, report: (observe: Observe) => void): void {
    this.meter?.observableGauge(name, description, unit, report);
  }

  /** The instance at `address` of `service` was ejected. */
  ejected(service: string, address: string): void {
    if (this.meter === undefined) return;
    if (!this.perInstance) this.ejections.add(service, () => ({ 'discovery.service': service }));
    else
      this.ejections.add(`${service} ${address}`, () => ({ 'discovery.service': service, 'server.address': address }));
  }

  holdStarted(service: string): void {
    if (this.meter !== undefined) this.holds.add(service, () => ({ 'discovery.service': service }));
  }

  relisted(reason: RelistReason): void {
    if (this.meter !== undefined) this.relists.add(reason, () => ({ 'discovery.relist.reason': reason }));
  }

  /** A traffic policy document of `service` was read and not applied. */
  policyRejected(service: string): void {
    if (this.meter !== undefined) this.policyRejections.add(service, () => ({ 'discovery.service': service }));
  }

  keepaliveFailed(): void {
    this.keepaliveFailures += 1;
  }
}
