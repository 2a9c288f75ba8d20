import { setTimeout as sleep } from 'node:timers/promises';
import { appliedState, REPORT_SPREAD_MS, type AppliedState, type PolicyReport } from '../policy/policy-report.js';
import type { PolicyStore } from './policy-store.js';

/** How often `--wait` reads the callers' reports again. */
const WAIT_POLL_MS = 100;

/** The callers of a service (the apps whose report lists it) and how each stands towards one revision. */
export interface Callers {
  applied: number;
  /** The callers that have not applied it yet, or rejected it, with why. */
  behind: { app: string; state: AppliedState; problem?: string }[];
}

/** Where the callers of `service` stand towards its document written at `revision`. */
export function callersOf(
  reports: readonly PolicyReport[],
  service: string,
  revision: number,
  drainedId?: string,
): Callers {
  const callers: Callers = { applied: 0, behind: [] };
  for (const report of reports) {
    if (!report.services.includes(service)) continue;
    const state = appliedState(report, service, revision, drainedId);
    if (state === 'applied') callers.applied += 1;
    else callers.behind.push({ app: report.app, state, problem: report.rejected[service]?.problem });
  }
  return callers;
}

/**
 * The callers' reports, up to date for the documents of `revisions` (service → revision): apps write theirs when
 * asked, not at every change, so when a caller's report is older than a document, every caller is asked (one write)
 * and the reports are read again until none is older, for at most the apps' spread of their writes (and `--timeout`).
 * No ask when one was made since the newest of the documents; an operator whose role may not write the ask sees the
 * reports as they are.
 */
export async function currentReports(store: PolicyStore, revisions: ReadonlyMap<string, number>) {
  let reports = await store.reports();
  const older = () =>
    [...revisions].some(([service, revision]) =>
      callersOf(reports, service, revision).behind.some(({ state }) => state === 'pending'),
    );
  if (!older()) return reports;
  // Asked since the newest of these documents: a caller still behind is stuck (refused, frozen, cut off), and asking
  // again would make every caller write again for nothing (a script running `ls` every few seconds).
  if ((await store.lastAskRevision()) >= Math.max(...revisions.values())) return reports;
  // A role that may read but not write: the reports as they are (older ones shown as not applied yet).
  if (
    !(await store.askReports().then(
      () => true,
      () => false,
    ))
  )
    return reports;
  const deadline = Date.now() + Math.min(store.timeoutMs, REPORT_SPREAD_MS + 1000);
  while (older() && Date.now() + WAIT_POLL_MS <= deadline) {
    await sleep(WAIT_POLL_MS);
    reports = await store.reports();
  }
  return reports;
}

/** `applied/callers`, as `ls` shows it. */
export function callersColumn(callers: Callers): string {
  return `${callers.applied}/${callers.applied + callers.behind.length}`;
}

/** One line per caller behind: its app and why. */
export function behindLines(callers: Callers): string[] {
  return callers.behind.map(({ app, state, problem }) => `  ${app}: ${state}${problem ? ` (${problem})` : ''}`);
}

/**
 * `--wait`: resolves once every app calling `service` reports `revision` applied (and, for a drain, no call left in
 * flight to `drainedId`), or with where they stand when `timeoutMs` passed first or one of them rejected it.
 */
export async function waitForCallers(
  store: PolicyStore,
  service: string,
  revision: number,
  timeoutMs: number,
  drainedId?: string,
): Promise<{ done: boolean; callers: Callers }> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const callers = callersOf(await store.reports(), service, revision, drainedId);
    if (callers.behind.length === 0) return { done: true, callers };
    const rejected = callers.behind.some(({ state }) => state === 'rejected');
    if (rejected || Date.now() + WAIT_POLL_MS > deadline) return { done: false, callers };
    await sleep(WAIT_POLL_MS);
  }
}

/** Written, but not applied by every caller within `--timeout` (or rejected by one): exit 3. */
export class NotAppliedError extends Error {
  override readonly name = 'NotAppliedError';
}
