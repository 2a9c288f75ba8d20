import type { InstanceCalls } from '../calls/call-counts.js';
import type { DashboardCalls } from './dashboard-snapshot.interface.js';

/**
 * What the dashboard shows of this app's calls to one instance: its totals, and the last minute as rates and
 * percentiles.
 */
export function callHealth(counts: Readonly<InstanceCalls>): DashboardCalls {
  const { calls, errors, timedOut, p50Ms, p99Ms } = counts.lastMinute;
  const lastMinute: DashboardCalls['lastMinute'] = {
    calls,
    errorRate: calls === 0 ? 0 : errors / calls,
    timeoutRate: calls === 0 ? 0 : timedOut / calls,
  };
  if (p50Ms !== undefined) lastMinute.p50Ms = round(p50Ms);
  if (p99Ms !== undefined) lastMinute.p99Ms = round(p99Ms);
  return {
    calls: counts.calls,
    unreachable: counts.unreachable,
    errors: counts.errors,
    timedOut: counts.timedOut,
    inFlight: counts.inFlight,
    lastMinute,
  };
}

/** Three significant digits: the percentiles are within ±10 % anyway. */
function round(ms: number): number {
  return Number(ms.toPrecision(3));
}
