import { validateTrafficPolicy, MAX_POLICY_BYTES } from './validate-traffic-policy.js';

const now = Date.parse('2026-12-06T12:00:00Z');
const inAnHour = '2026-12-06T13:00:00Z';

function problemsOf(document: unknown, instances?: string[]): string[] {
  const check = validateTrafficPolicy(document, { now, instances });
  return check.valid ? [] : check.problems.map(({ field, message }) => `${field} ${message}`);
}

describe('validateTrafficPolicy', () => {
  it('accepts every capability at once, as text or parsed, and gives the document back', () => {
    const policy = {
      split: { by: 'version', weights: { v1: 90, v2: 10 } },
      instances: { 'a-1': { drained: true, until: inAnHour, reason: 'disk' }, 'a-2': { weight: 5, until: inAnHour } },
      calls: { timeoutMs: 3000, attemptTimeoutMs: 500, retries: 1, hedge: false },
      guards: { maxDrainedPercent: 50 },
    };
    expect(validateTrafficPolicy(policy, { now })).toEqual({ valid: true, policy });
    expect(validateTrafficPolicy(JSON.stringify(policy), { now })).toEqual({ valid: true, policy });
    expect(validateTrafficPolicy({}, { now })).toEqual({ valid: true, policy: {} });
  });

  it.each([
    ['not JSON', '{"split": ', /^\(document\) is not JSON/],
    ['an array', [], /^\(document\) must be a JSON object/],
    ['an unknown field', { splits: {} }, /^splits is not a field of a traffic policy \(known: split, instances/],
    ['an unknown field in calls', { calls: { timeout: 5 } }, /^calls.timeout is not a field/],
    ['a split by something else', { split: { by: 'zone', weights: { a: 1 } } }, /^split.by must be "version"/],
    ['a split without weights', { split: { by: 'version' } }, /^split.weights must name at least one version/],
    ['a negative weight', { split: { by: 'version', weights: { v1: -1, v2: 5 } } }, /^split.weights\["v1"\] must be/],
    ['weights all 0', { split: { by: 'version', weights: { v1: 0, v2: 0 } } }, /^split.weights must not all be 0/],
    ['a weight as text', { split: { by: 'version', weights: { v1: '90' } } }, /^split.weights\["v1"\] must be an/],
    ['a timeout of 0', { calls: { timeoutMs: 0 } }, /^calls.timeoutMs must be an integer from 1 to 3600000/],
    ['a timeout over an hour', { calls: { timeoutMs: 3_600_001 } }, /^calls.timeoutMs must be/],
    ['an attempt longer than the call', { calls: { timeoutMs: 100, attemptTimeoutMs: 200 } }, /attemptTimeoutMs/],
    ['retries as text', { calls: { retries: 'two' } }, /^calls.retries must be an integer from 0 to 10/],
    ['hedge as text', { calls: { hedge: 'off' } }, /^calls.hedge must be true or false/],
    ['a guard over 100', { guards: { maxDrainedPercent: 101 } }, /^guards.maxDrainedPercent must be/],
    ['an override with no end', { instances: { a: { drained: true } } }, /^instances\["a"\].until is missing/],
    ['an override that does nothing', { instances: { a: { until: inAnHour } } }, /must say "drained" or "weight"/],
    ['an override 8 days ahead', { instances: { a: { drained: true, until: '2026-12-14T12:00:00Z' } } }, /7 days/],
    ['an end that is no time', { instances: { a: { drained: true, until: 'soon' } } }, /ISO 8601 time/],
    ['a weight of 0', { instances: { a: { weight: 0, until: inAnHour } } }, /weight must be an integer from 1/],
    ['an id with a slash', { instances: { 'a/b': { drained: true, until: inAnHour } } }, /not an instance id/],
  ])('rejects %s, saying where', (_case, document, problem) => {
    const problems = problemsOf(document);
    expect(problems.length).toBeGreaterThan(0);
    expect(problems[0]).toMatch(problem);
  });

  it.each([
    '{"hasOwnProperty": 1}',
    '{"constructor": {}}',
    '{"__proto__": {}}',
    '{"calls": {"valueOf": 1}}',
    `{"instances": {"a": {"drained": true, "until": "${inAnHour}", "toString": "x"}}}`,
  ])('rejects %s: a name every object has is no field of a policy', (text) => {
    expect(problemsOf(text)).toEqual([expect.stringMatching(/is not a field of a traffic policy/)]);
  });

  it('judges an instance named like what every object has by its own override only', () => {
    const guarded = { instances: { constructor: { drained: true, until: inAnHour } } };
    expect(problemsOf(guarded, ['constructor', 'toString'])).toEqual([]);
    expect(problemsOf({}, ['constructor'])).toEqual([]);
  });

  it('rejects a document over 64 KiB before reading it', () => {
    const reason = 'x'.repeat(400);
    const instances = Object.fromEntries(
      Array.from({ length: 200 }, (_, index) => [`i-${index}`, { drained: false, until: inAnHour, reason }]),
    );
    const text = JSON.stringify({ instances });
    expect(text.length).toBeGreaterThan(MAX_POLICY_BYTES);
    expect(problemsOf(text)).toEqual([`(document) is ${text.length} bytes, over ${MAX_POLICY_BYTES}`]);
  });

  it('says every problem, not only the first', () => {
    expect(problemsOf({ calls: { retries: -1, hedge: 1 }, guards: [] })).toHaveLength(3);
  });

  it('given the instances up, refuses more drained than the guard allows (ended overrides do not count)', () => {
    const drained = (until: string) => ({ drained: true, until });
    const two = { instances: { a: drained(inAnHour), b: drained(inAnHour) } };
    expect(problemsOf(two, ['a', 'b', 'c', 'd'])).toEqual([]);
    expect(problemsOf(two, ['a', 'b', 'c'])).toEqual([
      'instances drains 2 of 3 instances; guards.maxDrainedPercent (50) allows 1',
    ]);
    expect(problemsOf({ instances: { a: drained(inAnHour) } }, ['a'])).toHaveLength(1); // the last one
    expect(problemsOf({ ...two, guards: { maxDrainedPercent: 100 } }, ['a', 'b'])).toEqual([]);
    expect(problemsOf({ instances: { a: drained('2026-12-06T11:00:00Z') } }, ['a'])).toEqual([]);
  });
});
