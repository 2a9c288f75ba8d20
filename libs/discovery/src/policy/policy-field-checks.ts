/**
 * The checks of a traffic policy's fields, by name, for `validateTrafficPolicy()`: what each field may hold, and
 * the problems of one that holds something else, each with its path (`calls.timeoutMs`, `instances["a-1"].until`).
 */

/** The furthest ahead an override may end; a few minutes more are allowed for clocks that differ. */
export const MAX_OVERRIDE_MS = 7 * 24 * 3600_000;
const CLOCK_SKEW_MS = 5 * 60_000;

/** One thing wrong with a document: where (`calls.timeoutMs`, `instances["a-1"].until`) and what. */
export interface PolicyProblem {
  field: string;
  message: string;
}

/** What one validation gathers: its problems, and the time overrides are judged at. */
export interface Validation {
  problems: PolicyProblem[];
  now: number;
}

/**
 * A check of field `name` of the object at path `at`: returns what is wrong with its value, or adds the problems of
 * the fields inside it. The tables of checks below are made once, and a field's path only when it is needed: an app
 * validates every document it reads.
 */
type Check = (value: unknown, validation: Validation, at: string, name: string) => string | undefined;
type Checks = Readonly<Record<string, Check>>;

const integer = (min: number, max: number): Check => {
  const message = `must be an integer from ${min} to ${max}`;
  return (value) =>
    typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max
      ? undefined
      : `${message} (got ${JSON.stringify(value)})`;
};
const boolean: Check = (value) =>
  typeof value === 'boolean' ? undefined : `must be true or false (got ${JSON.stringify(value)})`;
export const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
export const add = (validation: Validation, field: string, message: string): undefined =>
  void validation.problems.push({ field, message });
/** The path of field `name` of the object at `at` (`''`: the document). */
const pathOf = (at: string, name: string) => (at === '' ? name : `${at}.${name}`);

/**
 * Checks each field of `object` by its name in `checks`; a name not in them (own names only: a field called
 * "constructor" or "__proto__" is unknown, not Object's) is a problem.
 */
function checkFields(object: Record<string, unknown>, at: string, checks: Checks, validation: Validation): void {
  for (const name of Object.keys(object)) {
    const field = object[name];
    if (!Object.hasOwn(checks, name))
      add(
        validation,
        pathOf(at, name),
        `is not a field of a traffic policy (known: ${Object.keys(checks).join(', ')})`,
      );
    else if (field !== undefined) {
      const message = checks[name](field, validation, at, name);
      if (message !== undefined) add(validation, pathOf(at, name), message);
    }
  }
}

const SPLIT_CHECKS: Checks = {
  by: (by) => (by === 'version' ? undefined : `must be "version" (got ${JSON.stringify(by)})`),
  weights: () => undefined, // checked with the split: its names are versions, not fields
};
const SHARE = integer(0, 10_000);
const TIMEOUT = integer(1, 3_600_000);
const CALL_CHECKS: Checks = { timeoutMs: TIMEOUT, attemptTimeoutMs: TIMEOUT, retries: integer(0, 10), hedge: boolean };
const GUARD_CHECKS: Checks = { maxDrainedPercent: integer(0, 100) };
const OVERRIDE_CHECKS: Checks = {
  drained: boolean,
  weight: integer(1, 10_000),
  until: (until, { now }) => {
    const end = typeof until === 'string' ? Date.parse(until) : NaN;
    if (Number.isNaN(end)) return `must be an ISO 8601 time (got ${JSON.stringify(until)})`;
    return end - now > MAX_OVERRIDE_MS + CLOCK_SKEW_MS ? 'must be at most 7 days ahead' : undefined;
  },
  reason: (reason) =>
    typeof reason === 'string' && reason.length <= 500 ? undefined : 'must be text of at most 500 characters',
};

function checkOverride(id: string, override: unknown, at: string, validation: Validation): void {
  if (id === '' || id.includes('/')) add(validation, at, 'is not an instance id (empty, or with a "/")');
  if (!isObject(override))
    return add(validation, at, 'must be an object: { "drained": true, "until": "2026-01-01T00:00:00Z" }');
  checkFields(override, at, OVERRIDE_CHECKS, validation);
  if (override.until === undefined) add(validation, `${at}.until`, 'is missing: every override ends by itself');
  if (override.drained === undefined && override.weight === undefined)
    add(validation, at, 'must say "drained" or "weight"');
}

const DOCUMENT_CHECKS: Checks = {
  split: (split, validation, parent, name) => {
    const at = pathOf(parent, name);
    if (!isObject(split)) return 'must be an object: { "by": "version", "weights": { "v1": 90, "v2": 10 } }';
    checkFields(split, at, SPLIT_CHECKS, validation);
    const weights = split.weights;
    if (!isObject(weights) || Object.keys(weights).length === 0)
      return add(validation, `${at}.weights`, 'must name at least one version with its share: { "v1": 90, "v2": 10 }');
    for (const version of Object.keys(weights)) {
      const message = SHARE(weights[version], validation, at, version);
      if (message !== undefined) add(validation, `${at}.weights[${JSON.stringify(version)}]`, message);
    }
    if (Object.values(weights).every((share) => share === 0)) add(validation, `${at}.weights`, 'must not all be 0');
    if (split.by === undefined) add(validation, `${at}.by`, 'is missing: "version"');
  },
  instances: (instances, validation, parent, name) => {
    const at = pathOf(parent, name);
    if (!isObject(instances)) return 'must be an object: { "<instance id>": { "drained": true, "until": "…" } }';
    for (const id of Object.keys(instances))
      checkOverride(id, instances[id], `${at}[${JSON.stringify(id)}]`, validation);
  },
  calls: (calls, validation, parent, name) => {
    const at = pathOf(parent, name);
    if (!isObject(calls)) return 'must be an object: { "timeoutMs": 3000, "retries": 1 }';
    checkFields(calls, at, CALL_CHECKS, validation);
    const { timeoutMs, attemptTimeoutMs } = calls;
    if (typeof timeoutMs === 'number' && typeof attemptTimeoutMs === 'number' && attemptTimeoutMs > timeoutMs)
      add(validation, `${at}.attemptTimeoutMs`, `(${attemptTimeoutMs}) must not be over timeoutMs (${timeoutMs})`);
  },
  guards: (guards, validation, parent, name) => {
    if (!isObject(guards)) return 'must be an object: { "maxDrainedPercent": 50 }';
    checkFields(guards, pathOf(parent, name), GUARD_CHECKS, validation);
  },
};

/** Checks every field of a document (an object), adding the problems to `validation`. */
export function checkDocumentFields(document: Record<string, unknown>, validation: Validation): void {
  checkFields(document, '', DOCUMENT_CHECKS, validation);
}
