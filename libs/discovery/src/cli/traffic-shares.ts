import { isUp, type ServiceEndpoint } from '../service-endpoint.interface.js';
import type { TrafficPolicy } from '../policy/traffic-policy.interface.js';
import { drainAllowance } from '../policy/validate-traffic-policy.js';

/** What the policy does to each instance now, as the CLI shows it. */
export interface InstanceTraffic {
  drained: boolean;
  /** The weight picks use: the policy's while its override lasts, else the registered one. */
  weight: number;
  /** The share of new calls it gets (0 to 1), with the default round robin (equal within a version). */
  share: number;
}

/** The drains and weights of `policy` in force at `now`, by instance id. */
export function activeOverrides(policy: TrafficPolicy | undefined, now: number) {
  const drained = new Set<string>();
  const weights = new Map<string, number>();
  for (const [id, override] of Object.entries(policy?.instances ?? {})) {
    if (Date.parse(override.until) <= now) continue;
    if (override.drained === true) drained.add(id);
    if (override.weight !== undefined) weights.set(id, override.weight);
  }
  return { drained, weights };
}

/**
 * What every app that calls the service does with `policy` over `endpoints` (sorted by id, as apps list them): the
 * same drains (the first by id up to the guard), the same split by version; shares as the default round robin gives
 * them.
 */
export function trafficOf(
  endpoints: readonly ServiceEndpoint[],
  policy: TrafficPolicy | undefined,
  now: number,
): Map<string, InstanceTraffic> {
  const { drained, weights } = activeOverrides(policy, now);
  const up = endpoints.filter(isUp);
  const allowed = drainAllowance(policy ?? {}, up.length);
  const drainedNow = new Set(
    up
      .filter((endpoint) => drained.has(endpoint.id))
      .slice(0, allowed)
      .map(({ id }) => id),
  );
  const candidates = up.filter((endpoint) => !drainedNow.has(endpoint.id));
  const shareOf = sharesBySplit(candidates, policy);
  return new Map(
    endpoints.map((endpoint) => [
      endpoint.id,
      {
        drained: drained.has(endpoint.id),
        weight: weights.get(endpoint.id) ?? endpoint.weight,
        share: shareOf.get(endpoint) ?? 0,
      },
    ]),
  );
}

function sharesBySplit(candidates: readonly ServiceEndpoint[], policy: TrafficPolicy | undefined) {
  const shares = new Map<ServiceEndpoint, number>();
  const named = Object.entries(policy?.split?.weights ?? {}).filter(([, weight]) => weight > 0);
  const groups = named
    .map(([version, weight]) => ({ weight, members: candidates.filter((endpoint) => endpoint.version === version) }))
    .filter((group) => group.members.length > 0);
  if (groups.length === 0) {
    // No split, or no named version has an instance: the split steps aside.
    for (const endpoint of candidates) shares.set(endpoint, 1 / candidates.length);
    return shares;
  }
  const total = groups.reduce((sum, group) => sum + group.weight, 0);
  for (const { weight, members } of groups)
    for (const endpoint of members) shares.set(endpoint, weight / total / members.length);
  return shares;
}
