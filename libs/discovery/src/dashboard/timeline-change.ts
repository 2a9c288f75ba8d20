import type { ServiceEndpoint } from '../service-endpoint.interface.js';
import type { EndpointChange } from '../watch/endpoint-change.interface.js';
import type { DashboardChange } from './dashboard-snapshot.interface.js';

/**
 * A change of the catalog as the dashboard's timeline shows it: who was added, removed or updated and,
 * for an update, what changed in a few words. Apart from `DashboardState`, which keeps the timeline,
 * because wording a change needs nothing but the change.
 */
export function timelineChange(change: EndpointChange, at: number): DashboardChange {
  const { endpoint, previous } = change;
  const base: DashboardChange = {
    at,
    type: change.type,
    service: endpoint.service,
    id: endpoint.id,
    address: endpoint.address,
  };
  return previous === undefined ? base : { ...base, detail: differences(previous, endpoint) };
}

/** What an update changed, in a few words. */
function differences(before: ServiceEndpoint, after: ServiceEndpoint): string {
  const words: string[] = [];
  if ((before.status ?? 'up') !== (after.status ?? 'up'))
    words.push(`status ${before.status ?? 'up'} → ${after.status ?? 'up'}`);
  if (before.address !== after.address) words.push(`address ${before.address} → ${after.address}`);
  if (before.weight !== after.weight) words.push(`weight ${before.weight} → ${after.weight}`);
  if (before.version !== after.version) words.push(`version ${before.version ?? '—'} → ${after.version ?? '—'}`);
  if (before.zone !== after.zone) words.push(`zone ${before.zone ?? '—'} → ${after.zone ?? '—'}`);
  const listed = (list: readonly string[] | undefined) => (list ?? []).join(',');
  if (listed(before.patterns) !== listed(after.patterns) || listed(before.events) !== listed(after.events))
    words.push('patterns');
  if (before.registeredAt !== after.registeredAt) words.push('registered again');
  return words.length === 0 ? 'metadata' : words.join(', ');
}
