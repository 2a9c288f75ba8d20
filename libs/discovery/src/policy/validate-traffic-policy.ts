import type { TrafficPolicy } from './traffic-policy.interface.js';

/** The largest document an app reads (bytes of its JSON text). */
export const MAX_POLICY_BYTES = 64 * 1024;
/** The furthest ahead an override may end; a few minutes more are allowed for clocks that differ. */
export const MAX_OVERRIDE_MS = 7 * 24 * 3600_000;
const CLOCK_SKEW_MS = 5 * 60_000;
export const DEFAULT_MAX_DRAINED_PERCENT = 50;

/** One thing wrong with a document: where (`calls.timeoutMs`, `instances["a-1"].until`) and what. */
export interface PolicyProblem {
  field: string;
  message: string;
}

/** A document an app read and did not apply: its revision and what is wrong with it. */
export interface PolicyRejection {
  revision: number;
  problems: PolicyProblem[];
}

export type TrafficPolicyCheck = { valid: true; policy: TrafficPolicy } | { valid: false; problems: PolicyProblem[] };

export interface TrafficPolicyContext {
  /** The time overrides are judged at (ms since the epoch). @default Date.now() */
  now?: number;
  /** The ids of the service's instances up now: given, a document that drains more than its guard allows is refused. */
  instances?: readonly string[];
}

type Check = (value: unknown, field: string) => string | undefined;
const integer =
  (min: number, max: number): Check =>
  (value) =>
    typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max
      ? undefined
      : `must be an integer from ${min} to ${max} (got ${JSON.stringify(value)})`;
const boolean: Check = (value) =>
  typeof value === 'boolean' ? undefined : `must be true or false (got ${JSON.stringify(value)})`;
const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * Checks a traffic policy document, as text (its size and JSON too) or parsed, and says everything wrong with it:
 * unknown fields, wrong types, weights negative or all 0, timeouts out of range, `attemptTimeoutMs` over
 * `timeoutMs`, an override ending in the past's far side or more than 7 days ahead, more drained than the guard
 * allows (when the instances are given). The CLI checks with it before it writes, every app after it reads: a
 * document with any problem is applied nowhere.
 */
export function validateTrafficPolicy(document: unknown, context: TrafficPolicyContext = {}): TrafficPolicyCheck {
  const problems: PolicyProblem[] = [];
  const add = (field: string, message: string): undefined => void problems.push({ field, message });
  let value = document;
  if (typeof document === 'string') {
    const bytes = Buffer.byteLength(document);
    if (bytes > MAX_POLICY_BYTES) return invalid('(document)', `is ${bytes} bytes, over ${MAX_POLICY_BYTES}`);
    try {
      value = JSON.parse(document);
    } catch (error) {
      return invalid('(document)', `is not JSON: ${(error as Error).message}`);
    }
  }
  if (!isObject(value)) return invalid('(document)', 'must be a JSON object');
  const fields = (object: Record<string, unknown>, at: string, checks: Record<string, Check>) => {
    for (const [name, field] of Object.entries(object)) {
      const check = checks[name];
      const path = at === '' ? name : `${at}.${name}`;
      if (check === undefined)
        add(path, `is not a field of a traffic policy (known: ${Object.keys(checks).join(', ')})`);
      else if (field !== undefined) {
        const message = check(field, path);
        if (message !== undefined) add(path, message);
      }
    }
  };
  const now = context.now ?? Date.now();
  fields(value, '', {
    split: (split, at) => {
      if (!isObject(split)) return 'must be an object: { "by": "version", "weights": { "v1": 90, "v2": 10 } }';
      fields(split, at, {
        by: (by) => (by === 'version' ? undefined : `must be "version" (got ${JSON.stringify(by)})`),
        weights: () => undefined,
      });
      const weights = split.weights;
      if (!isObject(weights) || Object.keys(weights).length === 0)
        return add(`${at}.weights`, 'must name at least one version with its share: { "v1": 90, "v2": 10 }');
      const share = integer(0, 10_000);
      for (const [version, weight] of Object.entries(weights)) {
        const message = share(weight, version);
        if (message !== undefined) add(`${at}.weights[${JSON.stringify(version)}]`, message);
      }
      if (Object.values(weights).every((share) => share === 0)) add(`${at}.weights`, 'must not all be 0');
      if (split.by === undefined) add(`${at}.by`, 'is missing: "version"');
    },
    instances: (instances, at) => {
      if (!isObject(instances)) return 'must be an object: { "<instance id>": { "drained": true, "until": "…" } }';
      for (const [id, override] of Object.entries(instances))
        checkOverride(id, override, `${at}[${JSON.stringify(id)}]`);
    },
    calls: (calls, at) => {
      if (!isObject(calls)) return 'must be an object: { "timeoutMs": 3000, "retries": 1 }';
      const timeout = integer(1, 3_600_000);
      fields(calls, at, { timeoutMs: timeout, attemptTimeoutMs: timeout, retries: integer(0, 10), hedge: boolean });
      const { timeoutMs, attemptTimeoutMs } = calls;
      if (typeof timeoutMs === 'number' && typeof attemptTimeoutMs === 'number' && attemptTimeoutMs > timeoutMs)
        add(`${at}.attemptTimeoutMs`, `(${attemptTimeoutMs}) must not be over timeoutMs (${timeoutMs})`);
    },
    guards: (guards, at) => {
      if (!isObject(guards)) return 'must be an object: { "maxDrainedPercent": 50 }';
      fields(guards, at, { maxDrainedPercent: integer(0, 100) });
    },
  });

  function checkOverride(id: string, override: unknown, at: string): void {
    if (id === '' || id.includes('/')) add(at, 'is not an instance id (empty, or with a "/")');
    if (!isObject(override)) return add(at, 'must be an object: { "drained": true, "until": "2026-01-01T00:00:00Z" }');
    fields(override, at, {
      drained: boolean,
      weight: integer(1, 10_000),
      until: (until) => {
        const end = typeof until === 'string' ? Date.parse(until) : NaN;
        if (Number.isNaN(end)) return `must be an ISO 8601 time (got ${JSON.stringify(until)})`;
        return end - now > MAX_OVERRIDE_MS + CLOCK_SKEW_MS ? 'must be at most 7 days ahead' : undefined;
      },
      reason: (reason) =>
        typeof reason === 'string' && reason.length <= 500 ? undefined : 'must be text of at most 500 characters',
    });
    if (override.until === undefined) add(`${at}.until`, 'is missing: every override ends by itself');
    if (override.drained === undefined && override.weight === undefined) add(at, 'must say "drained" or "weight"');
  }

  if (problems.length > 0) return { valid: false, problems };
  // Every field is known and of its type now: the document is a TrafficPolicy.
  const policy: TrafficPolicy = value;
  if (context.instances !== undefined) checkGuard(policy, context.instances, now, add);
  return problems.length === 0 ? { valid: true, policy } : { valid: false, problems };
}

/** How many of `up` instances a policy may drain at once. */
export function drainAllowance(policy: TrafficPolicy, up: number): number {
  const percent = policy.guards?.maxDrainedPercent ?? DEFAULT_MAX_DRAINED_PERCENT;
  return Math.floor((up * percent) / 100);
}

function checkGuard(
  policy: TrafficPolicy,
  instances: readonly string[],
  now: number,
  add: (f: string, m: string) => void,
) {
  const drained = instances.filter((id) => {
    const override = policy.instances?.[id];
    return override?.drained === true && Date.parse(override.until) > now;
  });
  const allowed = drainAllowance(policy, instances.length);
  if (drained.length > allowed)
    add(
      'instances',
      `drains ${drained.length} of ${instances.length} instances; guards.maxDrainedPercent ` +
        `(${policy.guards?.maxDrainedPercent ?? DEFAULT_MAX_DRAINED_PERCENT}) allows ${allowed}`,
    );
}

function invalid(field: string, message: string): TrafficPolicyCheck {
  return { valid: false, problems: [{ field, message }] };
}
