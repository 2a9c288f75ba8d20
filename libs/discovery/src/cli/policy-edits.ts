import type { InstanceOverride, TrafficPolicy } from '../policy/traffic-policy.interface.js';
import { CliInputError } from './cli-arguments.js';

/**
 * The changes the CLI's verbs make to a document, as new documents (the one read is never changed): each is checked
 * whole by `validateTrafficPolicy()` before it is written. Overrides that have ended are dropped on every write.
 */

/** `policy` without the overrides ended at `now`. */
export function withoutEnded(policy: TrafficPolicy, now: number): TrafficPolicy {
  const instances = Object.entries(policy.instances ?? {}).filter(([, override]) => Date.parse(override.until) > now);
  const { instances: _dropped, ...rest } = policy;
  return instances.length === 0 ? rest : { ...rest, instances: Object.fromEntries(instances) };
}

/** The override of `id`: an own field only (for an id such as "constructor", not a field Object has). */
function overrideOf(policy: TrafficPolicy, id: string): InstanceOverride | undefined {
  const { instances } = policy;
  return instances !== undefined && Object.hasOwn(instances, id) ? instances[id] : undefined;
}

/** Sets `object[key]` as a field of its own, whatever the key: assigning to "__proto__" would set the prototype. */
function setField<T>(object: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(object, key, { value, enumerable: true, writable: true, configurable: true });
}

function withOverride(policy: TrafficPolicy, id: string, override: InstanceOverride | undefined): TrafficPolicy {
  const instances = { ...policy.instances };
  if (override === undefined) delete instances[id];
  else setField(instances, id, override);
  const { instances: _old, ...rest } = policy;
  return Object.keys(instances).length === 0 ? rest : { ...rest, instances };
}

export function drained(policy: TrafficPolicy, id: string, until: string, reason: string | undefined): TrafficPolicy {
  const { weight } = overrideOf(policy, id) ?? {};
  return withOverride(policy, id, { drained: true, ...(weight === undefined ? {} : { weight }), until, reason });
}

export function undrained(policy: TrafficPolicy, id: string): TrafficPolicy {
  const override = overrideOf(policy, id);
  if (override?.drained !== true) throw new CliInputError(`instance ${JSON.stringify(id)} is not drained`);
  const { drained: _drained, ...rest } = override;
  return withOverride(policy, id, rest.weight === undefined ? undefined : rest);
}

export function weighted(policy: TrafficPolicy, id: string, weight: number, until: string, reason?: string) {
  const { drained: isDrained } = overrideOf(policy, id) ?? {};
  return withOverride(policy, id, { ...(isDrained ? { drained: true } : {}), weight, until, reason });
}

/** `v1=90 v2=10`: the shares by version; `off`: no split. */
export function split(
  policy: TrafficPolicy,
  words: readonly string[],
  parse: (w: readonly string[]) => [string, string][],
) {
  const { split: _old, ...rest } = policy;
  if (words.length === 1 && words[0] === 'off') return rest;
  const weights: Record<string, number> = {};
  for (const [version, share] of parse(words)) {
    if (!/^\d+$/.test(share)) throw new CliInputError(`${version}=${share}: a share is a whole number (v1=90 v2=10)`);
    setField(weights, version, Number(share));
  }
  return { ...rest, split: { by: 'version' as const, weights } };
}

const CALL_SETTINGS = ['timeoutMs', 'attemptTimeoutMs', 'retries', 'hedge'] as const;

/** `timeoutMs=3000 retries=1 hedge=off` (`name=default` takes a setting back to the app's own). */
export function callSettings(policy: TrafficPolicy, assignments: readonly [string, string][]): TrafficPolicy {
  const calls: Record<string, number | boolean | undefined> = { ...policy.calls };
  for (const [name, value] of assignments) {
    if (!(CALL_SETTINGS as readonly string[]).includes(name))
      throw new CliInputError(`${name} is not a call setting (known: ${CALL_SETTINGS.join(', ')})`);
    if (value === 'default') delete calls[name];
    else if (name === 'hedge') calls.hedge = onOff(value);
    else if (/^\d+$/.test(value)) calls[name] = Number(value);
    else throw new CliInputError(`${name}=${value}: a whole number (or "default")`);
  }
  const { calls: _old, ...rest } = policy;
  return Object.keys(calls).length === 0 ? rest : { ...rest, calls };
}

function onOff(value: string): boolean {
  if (['on', 'true'].includes(value)) return true;
  if (['off', 'false'].includes(value)) return false;
  throw new CliInputError(`hedge=${value}: on or off (or "default")`);
}
