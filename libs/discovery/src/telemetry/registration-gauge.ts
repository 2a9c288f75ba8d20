import type { RegistrationState } from '../registration/service-registration.interface.js';
import type { DiscoveryMetrics } from './discovery-metrics.js';

const STATES: readonly RegistrationState['state'][] = ['pending', 'registered'];

/**
 * `discovery.registrations`: this app's own registrations by `discovery.service` and
 * `discovery.registration.state` (`pending` until the key is written, and again while it is put back).
 */
export function reportRegistrations(metrics: DiscoveryMetrics, states: () => readonly RegistrationState[]): void {
  metrics.gauge(
    'discovery.registrations',
    "This app's registrations, by service and state",
    '{registration}',
    (observe) => {
      const counts = new Map<string, Map<string, number>>();
      for (const { service, state } of states()) {
        let ofService = counts.get(service);
        if (ofService === undefined) counts.set(service, (ofService = new Map(STATES.map((known) => [known, 0]))));
        ofService.set(state, (ofService.get(state) ?? 0) + 1);
      }
      for (const [service, ofService] of counts) {
        for (const [state, count] of ofService)
          observe(count, { 'discovery.service': service, 'discovery.registration.state': state });
      }
    },
  );
}
