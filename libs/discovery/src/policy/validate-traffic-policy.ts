import type { TrafficPolicy } from './traffic-policy.interface.js';
import { add, checkDocumentFields, isObject, type PolicyProblem, type Validation } from './policy-field-checks.js';

export { MAX_OVERRIDE_MS, type PolicyProblem } from './policy-field-checks.js';

/** The largest document an app reads (bytes of its JSON text). */
export const MAX_POLICY_BYTES = 64 * 1024;
export const DEFAULT_MAX_DRAINED_PERCENT = 50;

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

/**
 * Checks a traffic policy document, as text (its size and JSON too) or parsed, and says everything wrong with it:
 * unknown fields, wrong types, weights negative or all 0, timeouts out of range, `attemptTimeoutMs` over
 * `timeoutMs`, an override ending in the past's far side or more than 7 days ahead, more drained than the guard
 * allows (when the instances are given). The CLI checks with it before it writes, every app after it reads: a
 * document with any problem is applied nowhere.
 */
export function validateTrafficPolicy(document: unknown, context: TrafficPolicyContext = {}): TrafficPolicyCheck {
  let value = document;
  if (typeof document === 'string') {
    // A UTF-16 unit is at most 3 bytes of UTF-8: most documents need no count of their bytes.
    const bytes = document.length * 3 <= MAX_POLICY_BYTES ? 0 : Buffer.byteLength(document);
    if (bytes > MAX_POLICY_BYTES) return invalid('(document)', `is ${bytes} bytes, over ${MAX_POLICY_BYTES}`);
    try {
      value = JSON.parse(document);
    } catch (error) {
      return invalid('(document)', `is not JSON: ${(error as Error).message}`);
    }
  }
  if (!isObject(value)) return invalid('(document)', 'must be a JSON object');
  const validation: Validation = { problems: [], now: context.now ?? Date.now() };
  checkDocumentFields(value, validation);
  const { problems } = validation;
  if (problems.length > 0) return { valid: false, problems };
  // Every field is known and of its type now: the document is a TrafficPolicy.
  const policy: TrafficPolicy = value;
  if (context.instances !== undefined) checkGuard(policy, context.instances, validation);
  return problems.length === 0 ? { valid: true, policy } : { valid: false, problems };
}

/** How many of `up` instances a policy may drain at once. */
export function drainAllowance(policy: TrafficPolicy, up: number): number {
  const percent = policy.guards?.maxDrainedPercent ?? DEFAULT_MAX_DRAINED_PERCENT;
  return Math.floor((up * percent) / 100);
}

function checkGuard(policy: TrafficPolicy, instances: readonly string[], validation: Validation): void {
  const { now } = validation;
  const drained = instances.filter((id) => {
    const override =
      policy.instances !== undefined && Object.hasOwn(policy.instances, id) ? policy.instances[id] : undefined;
    return override?.drained === true && Date.parse(override.until) > now;
  });
  const allowed = drainAllowance(policy, instances.length);
  if (drained.length > allowed)
    add(
      validation,
      'instances',
      `drains ${drained.length} of ${instances.length} instances; guards.maxDrainedPercent ` +
        `(${policy.guards?.maxDrainedPercent ?? DEFAULT_MAX_DRAINED_PERCENT}) allows ${allowed}`,
    );
}

function invalid(field: string, message: string): TrafficPolicyCheck {
  return { valid: false, problems: [{ field, message }] };
}
