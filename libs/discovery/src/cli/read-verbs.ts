import { isUp, type ServiceEndpoint } from '../service-endpoint.interface.js';
import type { TrafficPolicy } from '../policy/traffic-policy.interface.js';
import { validateTrafficPolicy } from '../policy/validate-traffic-policy.js';
import { CliInputError } from './cli-arguments.js';
import { behindLines, callersColumn, callersOf, currentReports } from './applied-wait.js';
import { Output, percent } from './output.js';
import type { PolicyStore, StoredPolicy } from './policy-store.js';
import { trafficOf } from './traffic-shares.js';

/** The document as apps judge it: in force, or rejected with its first problem. */
export function judged(stored: StoredPolicy): { policy: TrafficPolicy | undefined; problem?: string } {
  if (stored.text === undefined) return { policy: undefined };
  const check = validateTrafficPolicy(stored.text);
  if (check.valid) return { policy: check.policy };
  const [first] = check.problems;
  return { policy: undefined, problem: `${first.field} ${first.message}` };
}

/** `ls`: every service with its instances by state and its policy's revision. */
export async function listServices(store: PolicyStore, out: Output): Promise<void> {
  const [endpoints, policies] = await Promise.all([store.endpoints(), store.readAll()]);
  const reports = await currentReports(store, new Map([...policies].map(([name, { revision }]) => [name, revision])));
  const services = new Map<string, ServiceEndpoint[]>();
  for (const endpoint of endpoints)
    services.set(endpoint.service, [...(services.get(endpoint.service) ?? []), endpoint]);
  for (const service of policies.keys()) if (!services.has(service)) services.set(service, []);
  const now = Date.now();
  const rows = [...services]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([service, list]) => {
      const stored = policies.get(service) ?? { text: undefined, revision: 0 };
      const { policy, problem } = judged(stored);
      const traffic = trafficOf(list, policy, now);
      const count = (test: (endpoint: ServiceEndpoint) => boolean) => list.filter(test).length;
      const callers = callersOf(reports, service, stored.revision);
      return {
        service,
        up: count((endpoint) => isUp(endpoint)),
        draining: count((endpoint) => endpoint.status === 'draining'),
        down: count((endpoint) => endpoint.status === 'down'),
        drained: count((endpoint) => traffic.get(endpoint.id)?.drained === true),
        policyRevision: stored.revision === 0 ? null : stored.revision,
        ...(problem === undefined ? {} : { rejected: problem }),
        callers: callers.applied + callers.behind.length,
        callersApplied: callers.applied,
      };
    });
  out.table(
    ['SERVICE', 'UP', 'DRAINING', 'DOWN', 'DRAINED', 'POLICY', 'CALLERS APPLIED'],
    rows.map((row) => [
      row.service,
      ...[row.up, row.draining, row.down, row.drained].map(String),
      row.policyRevision === null ? '-' : `rev ${row.policyRevision}${row.rejected ? ' (rejected)' : ''}`,
      `${row.callersApplied}/${row.callers}`,
    ]),
  );
  out.print({ services: rows });
}

/** `describe <service>`: its instances, what the policy does to each, their share of calls now. */
export async function describeService(store: PolicyStore, service: string, out: Output): Promise<void> {
  const [endpoints, stored] = await Promise.all([store.endpoints(service), store.read(service)]);
  if (endpoints.length === 0 && stored.text === undefined)
    throw new CliInputError(`unknown service "${service}": no instance and no policy under ${store.namespace}`);
  const { policy, problem } = judged(stored);
  const reports = await currentReports(store, new Map([[service, stored.revision]]));
  const callers = callersOf(reports, service, stored.revision);
  const traffic = trafficOf(endpoints, policy, Date.now());
  const instances = endpoints.map((endpoint) => {
    const { drained, weight, share } = traffic.get(endpoint.id)!;
    const { id, address, version = null, zone = null, status = 'up' } = endpoint;
    return { id, address, version, zone, status, drained, weight, share };
  });
  out.line(
    `${service}: ${endpoints.length} instance(s), policy ${stored.revision === 0 ? 'none' : `rev ${stored.revision}`}`,
  );
  if (problem !== undefined) out.line(`policy rejected by apps (the last good one stays in them): ${problem}`);
  out.line(`callers applied: ${callersColumn(callers)}`);
  for (const line of behindLines(callers)) out.line(line);
  if (policy?.split)
    out.line(
      `split by version: ${Object.entries(policy.split.weights)
        .map(([v, w]) => `${v}=${w}`)
        .join(' ')}`,
    );
  if (policy?.calls)
    out.line(
      `calls: ${Object.entries(policy.calls)
        .map(([name, value]) => `${name}=${String(value)}`)
        .join(' ')}`,
    );
  out.table(
    ['ID', 'ADDRESS', 'VERSION', 'ZONE', 'STATUS', 'DRAINED', 'WEIGHT', 'SHARE'],
    instances.map((i) => [
      i.id,
      i.address,
      i.version ?? '-',
      i.zone ?? '-',
      i.status,
      i.drained ? 'yes' : '-',
      String(i.weight),
      percent(i.share),
    ]),
  );
  out.print({
    service,
    policyRevision: stored.revision === 0 ? null : stored.revision,
    ...(problem === undefined ? {} : { rejected: problem }),
    policy: policy ?? null,
    callers: { applied: callers.applied, behind: callers.behind },
    instances,
  });
}

/** `get <service>`: the document as stored. */
export async function getDocument(store: PolicyStore, service: string, out: Output): Promise<void> {
  const stored = await store.read(service);
  if (stored.text === undefined) throw new CliInputError(`"${service}" has no traffic policy`);
  const { problem } = judged(stored);
  let document: unknown = stored.text;
  try {
    document = JSON.parse(stored.text);
  } catch {
    // not JSON: shown as the text it is
  }
  out.line(typeof document === 'string' ? document : JSON.stringify(document, null, 2));
  if (problem !== undefined) out.line(`# rejected by apps: ${problem}`);
  out.line(`# revision ${stored.revision}`);
  out.print({ service, revision: stored.revision, document, ...(problem === undefined ? {} : { rejected: problem }) });
}

/** `history <service>`: each change, oldest first, and the document in force now. */
export async function showHistory(store: PolicyStore, service: string, out: Output): Promise<void> {
  const [entries, current] = await Promise.all([store.history(service), store.read(service)]);
  if (entries.length === 0 && current.text === undefined) throw new CliInputError(`"${service}" has no traffic policy`);
  out.table(
    ['REVISION', 'REPLACED AT', 'REPLACED BY', 'BECAUSE', 'DOCUMENT'],
    [
      ...entries.map((entry) => [
        entry.revision === 0 ? '(none)' : String(entry.revision),
        entry.replacedAt,
        entry.by,
        entry.reason ?? '-',
        entry.document === null ? '(no policy)' : shorten(entry.document),
      ]),
      [String(current.revision), '(in force)', '-', '-', shorten(current.text ?? '(no policy)')],
    ],
  );
  out.print({ service, current: { revision: current.revision, document: current.text ?? null }, history: entries });
}

function shorten(text: string): string {
  const flat = text.replace(/\s+/g, ' ');
  return flat.length > 60 ? `${flat.slice(0, 59)}…` : flat;
}
