import { Injectable } from '@nestjs/common';
import { ServicePicks } from '../picking/service-picks.js';
import { TrafficPolicies } from '../policy/traffic-policies.js';
import { RegistrationReconciler } from '../registration/registration-reconciler.js';
import { ServiceWatches } from '../watch/service-watches.js';
import { DiscoveryMetrics } from './discovery-metrics.js';
import { reportRegistrations } from './registration-gauge.js';
import { reportWatchGauges } from './watch-gauges.js';

/**
 * Telemetry as a listener (an internal provider): the core parts tell what happens — a watch re-listed,
 * a hold began, an endpoint was ejected, a keepalive failed, a traffic policy was rejected — and hold what
 * the gauges read; this turns both into `discovery.*` metrics. No core part imports telemetry. Without
 * `@opentelemetry/api` it listens to nothing.
 */
@Injectable()
export class DiscoveryTelemetry {
  constructor(
    metrics: DiscoveryMetrics,
    watches: ServiceWatches,
    picks: ServicePicks,
    reconciler: RegistrationReconciler,
    policies: TrafficPolicies,
  ) {
    if (!metrics.enabled) return;
    watches.relisted.add((reason) => metrics.relisted(reason));
    watches.holdStarted.add((service) => metrics.holdStarted(service));
    reportWatchGauges(metrics, () => watches.running());
    picks.ejected.add((service, address) => metrics.ejected(service, address));
    metrics.gauge(
      'discovery.endpoints.ejected',
      'Endpoints not picked now for failing calls (or a 503 Retry-After)',
      '{endpoint}',
      (observe) => {
        for (const [service, ejected] of picks.ejectedCounts()) observe(ejected, { 'discovery.service': service });
      },
    );
    policies.rejected.add((service) => metrics.policyRejected(service));
    reconciler.keepaliveFailed.add(() => metrics.keepaliveFailed());
    reportRegistrations(metrics, () => reconciler.states());
  }
}
