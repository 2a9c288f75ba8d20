/**
 * What an app reports of the traffic policies it applies, one leased key per app at `<namespace>.policy-applied/<app>`
 * (beside the policy prefix rather than in it: apps watch the policy prefix, and a fleet's reports there would reach
 * every app). The CLI reads them to answer "have all callers applied it?". Written when the app starts calling, when
 * the services it calls or its rejections change, and when the CLI asks (`reportsAskedKey`) — not at every policy
 * change: 1,000 callers writing at each change held up etcd's next deliveries (see docs/capacity.md).
 */
export interface PolicyReport {
  /** The app: `host:pid`, and the services it registers when it does. */
  app: string;
  /** Every policy change up to this etcd revision has been judged (applied, or rejected below). */
  revision: number;
  /** The services this app calls: the callers of a service are the apps that list it. */
  services: string[];
  /** The documents rejected, by service: their revision and first problem (the last good one stays in force). */
  rejected: Record<string, { revision: number; problem: string }>;
  /** Calls in flight to instances drained now, by service then instance id, while there are any. */
  inFlight: Record<string, Record<string, number>>;
}

/**
 * An app writes an asked report at a random moment within this, so that a fleet's reports do not reach etcd at once
 * (1,000 apps writing at once held up every app's next changes: fleet bench, p99 7.5 s).
 */
export const REPORT_SPREAD_MS = 2000;

/** How an app stands towards the document of a service written at `revision`. */
export type AppliedState = 'applied' | 'rejected' | 'pending' | 'calls in flight';

/**
 * Whether the app of `report` applies the document of `service` written at `revision` (and, when `drainedId` is
 * given, has no call left in flight to that instance).
 */
export function appliedState(
  report: PolicyReport,
  service: string,
  revision: number,
  drainedId?: string,
): AppliedState {
  const rejection = report.rejected[service] as { revision?: unknown } | null | undefined; // as read: any shape
  if (typeof rejection?.revision === 'number' && rejection.revision >= revision) return 'rejected';
  if (report.revision < revision) return 'pending';
  const inFlight = (report.inFlight[service] as Record<string, unknown> | null | undefined)?.[drainedId ?? ''];
  if (drainedId !== undefined && typeof inFlight === 'number' && inFlight > 0) return 'calls in flight';
  return 'applied';
}

/** A report as read from etcd, or undefined for a value that is not one (skipped, as unreadable endpoints are). */
export function parsePolicyReport(text: string): PolicyReport | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const { app, revision, services, rejected, inFlight } = value as Partial<PolicyReport>;
  if (typeof app !== 'string' || typeof revision !== 'number' || !Array.isArray(services)) return undefined;
  return {
    app,
    revision,
    services: services.filter((service): service is string => typeof service === 'string'),
    rejected: typeof rejected === 'object' && rejected !== null ? rejected : {},
    inFlight: typeof inFlight === 'object' && inFlight !== null ? inFlight : {},
  };
}
