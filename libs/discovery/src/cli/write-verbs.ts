import { readFile } from 'node:fs/promises';
import { hostname, userInfo } from 'node:os';
import { isUp, type ServiceEndpoint } from '../service-endpoint.interface.js';
import type { TrafficPolicy } from '../policy/traffic-policy.interface.js';
import { validateTrafficPolicy } from '../policy/validate-traffic-policy.js';
import { CliInputError, needWords, type CliArguments } from './cli-arguments.js';
import { editOf } from './verb-edits.js';
import { Output, percent } from './output.js';
import * as edits from './policy-edits.js';
import type { PolicyStore } from './policy-store.js';
import { behindLines, callersColumn, NotAppliedError, waitForCallers } from './applied-wait.js';
import { judged } from './read-verbs.js';
import { trafficOf } from './traffic-shares.js';

/** drain, undrain, weight, split, set: read, change, check whole, then write (or show, with --dry-run). */
export async function changePolicy(store: PolicyStore, args: CliArguments, out: Output): Promise<void> {
  const { service, edit } = editOf(args);
  const [instances, stored] = await Promise.all([store.endpoints(service), store.read(service)]);
  if (instances.length === 0 && stored.text === undefined)
    throw new CliInputError(`unknown service "${service}": no instance and no policy under ${store.namespace}`);
  const { policy, problem } = judged(stored);
  if (problem !== undefined)
    throw new CliInputError(`the policy of "${service}" in etcd is not valid (${problem}): replace it with apply -f`);
  const { next, said } = edit(policy ?? {}, instances);
  await commit(store, args, out, {
    service,
    instances,
    stored,
    before: policy,
    next: edits.withoutEnded(next, Date.now()),
    said,
  });
}

/** `apply -f <file>`: a whole document, checked, written over the one in force. */
export async function applyDocument(store: PolicyStore, args: CliArguments, out: Output): Promise<void> {
  const [service] = needWords(args, ['service']);
  if (typeof args.flags.file !== 'string')
    throw new CliInputError('apply needs -f <file> (a JSON document; - for stdin)');
  const text =
    args.flags.file === '-'
      ? await readStdin()
      : await readFile(args.flags.file, 'utf8').catch((error: Error) => {
          throw new CliInputError(`cannot read ${String(args.flags.file)}: ${error.message}`);
        });
  const check = validateTrafficPolicy(text);
  if (!check.valid) throw new CliInputError(problemsLine(check.problems));
  const [instances, stored] = await Promise.all([store.endpoints(service), store.read(service)]);
  const before = judged(stored).policy;
  await commit(store, args, out, {
    service,
    instances,
    stored,
    before,
    next: check.policy,
    said: `apply ${args.flags.file} to ${service}`,
  });
}

/** `rollback <service> --to <revision>`: the document in force at that revision, written again. */
export async function rollback(store: PolicyStore, args: CliArguments, out: Output): Promise<void> {
  const [service] = needWords(args, ['service']);
  const to = Number(args.flags.to);
  if (!Number.isInteger(to) || to < 0) throw new CliInputError('rollback needs --to <revision> (see history)');
  const [entries, stored, instances] = await Promise.all([
    store.history(service),
    store.read(service),
    store.endpoints(service),
  ]);
  if (stored.revision === to) throw new CliInputError(`revision ${to} of "${service}" is the one in force`);
  const entry = entries.find((candidate) => candidate.revision === to);
  if (entry === undefined)
    throw new CliInputError(
      `no revision ${to} in the history of "${service}" (kept: ${entries.map((e) => e.revision).join(', ') || 'none'})`,
    );
  const check = validateTrafficPolicy(entry.document ?? '{}');
  if (!check.valid) throw new CliInputError(`revision ${to} is not valid now: ${problemsLine(check.problems)}`);
  const before = judged(stored).policy;
  await commit(store, args, out, {
    service,
    instances,
    stored,
    before,
    next: edits.withoutEnded(check.policy, Date.now()),
    said: `roll ${service} back to revision ${to}`,
  });
}

interface Change {
  service: string;
  instances: readonly ServiceEndpoint[];
  stored: { text: string | undefined; revision: number };
  before: TrafficPolicy | undefined;
  next: TrafficPolicy;
  said: string;
}

async function commit(store: PolicyStore, args: CliArguments, out: Output, change: Change): Promise<void> {
  const { service, instances, stored, before, next, said } = change;
  const up = instances.filter(isUp).map((endpoint) => endpoint.id);
  const check = validateTrafficPolicy(next, { instances: up });
  if (!check.valid) throw new CliInputError(`refused: ${problemsLine(check.problems)}${guardHint(check.problems)}`);
  const now = Date.now();
  const shares = [trafficOf(instances, before, now), trafficOf(instances, next, now)];
  const rows = instances.map((endpoint) => ({
    id: endpoint.id,
    version: endpoint.version ?? null,
    before: shares[0].get(endpoint.id)!.share,
    after: shares[1].get(endpoint.id)!.share,
  }));
  const dryRun = args.flags['dry-run'] === true;
  const text = JSON.stringify(next);
  const by = typeof args.flags.by === 'string' ? args.flags.by : `${userInfo().username}@${hostname()}`;
  const reason = typeof args.flags.reason === 'string' ? args.flags.reason : undefined;
  const wait = args.flags.wait === true; // the callers are asked for their reports in the same write
  const revision = dryRun ? undefined : await store.write(service, stored, text, { by, reason, askReports: wait });
  out.line(dryRun ? `dry run, nothing written: ${said}` : `done: ${said} (revision ${revision})`);
  out.table(
    ['ID', 'VERSION', 'SHARE NOW', 'AFTER'],
    rows.map((r) => [r.id, r.version ?? '-', percent(r.before), percent(r.after)]),
  );
  const applied = revision !== undefined && wait ? await waitFor(store, args, out, service, revision) : undefined;
  out.print({
    service,
    dryRun,
    ...(revision === undefined ? {} : { revision }),
    document: next,
    instances: rows,
    ...(applied === undefined ? {} : { applied }),
  });
  if (applied !== undefined && !applied.done)
    throw new NotAppliedError(`revision ${revision} of "${service}" written, not applied by every caller (see above)`);
}

/** `--wait`: until every caller applied `revision` (for a drain: and finished its calls to the instance). */
async function waitFor(store: PolicyStore, args: CliArguments, out: Output, service: string, revision: number) {
  const drainedId = args.verb === 'drain' ? args.positionals[1] : undefined;
  const started = Date.now();
  // The change is written: a failure to read the callers' reports is said with the rest, never instead of it.
  const applied = await waitForCallers(store, service, revision, store.timeoutMs, drainedId).catch((error: Error) => {
    out.line(`could not read the callers' reports: ${error.message}`);
    return { done: false, callers: { applied: 0, behind: [] } };
  });
  const { callers, done } = applied;
  const took = `${Date.now() - started} ms`;
  const calls = drainedId === undefined ? '' : `, their calls to ${drainedId} finished`;
  if (done) out.line(`applied by ${callers.applied} caller(s) in ${took}${calls}`);
  else out.line(`not applied by every caller in ${took} (${callersColumn(callers)}):`);
  for (const line of behindLines(callers)) out.line(line);
  return { done, callers: callers.applied, behind: callers.behind, ms: Date.now() - started };
}

function problemsLine(problems: readonly { field: string; message: string }[]): string {
  return problems.map(({ field, message }) => `${field} ${message}`).join('; ');
}

function guardHint(problems: readonly { field: string }[]): string {
  return problems.some((problem) => problem.field === 'instances') ? ' (drain --force raises the guard)' : '';
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString();
}
