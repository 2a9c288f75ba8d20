import type { TrafficPolicies } from '../policy/traffic-policies.js';
import type { DashboardPolicy } from './dashboard-snapshot.interface.js';

/** What the dashboard shows of the traffic policy of `service`, as this app has it: undefined when there is none. */
export function dashboardPolicy(policies: TrafficPolicies, service: string, now: number): DashboardPolicy | undefined {
  const { document, revision, rejection } = policies.stateOf(service);
  if (document === undefined && rejection === undefined) return undefined;
  const shown: DashboardPolicy = { revision, drained: [], weights: {} };
  if (document?.split !== undefined) shown.split = document.split.weights;
  if (document?.calls !== undefined) shown.calls = document.calls;
  const weights: [string, number][] = [];
  for (const [id, override] of Object.entries(document?.instances ?? {})) {
    if (Date.parse(override.until) <= now) continue; // ended: it applies no more
    if (override.drained === true) shown.drained.push({ id, until: override.until, reason: override.reason });
    if (override.weight !== undefined) weights.push([id, override.weight]);
  }
  // Made from entries: an id such as "__proto__" stays a field (assigned, it would set the prototype).
  shown.weights = Object.fromEntries(weights);
  if (rejection !== undefined) {
    const [first] = rejection.problems;
    shown.rejected = { revision: rejection.revision, problem: `${first.field} ${first.message}` };
  }
  return shown;
}
