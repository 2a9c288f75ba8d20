import type { ServiceEndpoint } from '../service-endpoint.interface.js';
import { CliInputError, needWords, parseArguments, parseAssignments, parseDuration } from './cli-arguments.js';
import * as edits from './policy-edits.js';
import { trafficOf } from './traffic-shares.js';

const endpoint = (id: string, version: string, status?: 'draining'): ServiceEndpoint => ({
  service: 's',
  id,
  host: '10.0.0.1',
  port: 1,
  address: `10.0.0.1:${id}`,
  metadata: {},
  weight: 1,
  version,
  ...(status ? { status } : {}),
});
const now = Date.parse('2026-12-06T12:00:00Z');
const later = '2026-12-06T13:00:00Z';
const earlier = '2026-12-06T11:00:00Z';

describe('the CLI: reading what the operator typed', () => {
  it('takes the verb, its words and its flags in any order, with --flag value or --flag=value', () => {
    expect(parseArguments(['drain', 'svc', '--for', '30m', 'a-1', '--json', '--reason=disk full'])).toEqual({
      verb: 'drain',
      positionals: ['svc', 'a-1'],
      flags: { for: '30m', json: true, reason: 'disk full' },
    });
    expect(parseArguments(['apply', 'svc', '-f', 'p.json']).flags).toEqual({ file: 'p.json' });
  });

  it.each([
    [['ls', '--colour'], 'unknown option --colour (see --help)'],
    [['ls', '--constructor', 'x'], 'unknown option --constructor (see --help)'], // a name Object has is no flag
    [['ls', '--__proto__=x'], 'unknown option --__proto__=x (see --help)'],
    [['ls', '--json=yes'], '--json takes no value'],
    [['drain', 's', 'a', '--for'], '--for needs a value'],
  ])('refuses %j: %s', (argv, message) => {
    expect(() => parseArguments(argv)).toThrow(new CliInputError(message));
  });

  it('refuses a service name with a slash: it would write another key (the asks for reports)', () => {
    const args = parseArguments(['split', 'reports/asked', 'off']);
    expect(() => needWords(args, ['service'])).toThrow(
      new CliInputError('split needs <service>: a service name has no "/" (got "reports/asked")'),
    );
    expect(needWords(parseArguments(['drain', 'shop', 'b']), ['service', 'instance id'])).toEqual(['shop', 'b']);
  });

  it('reads durations and name=value words, and says how to write them', () => {
    expect([parseDuration('90s', '--for'), parseDuration('30m', '--for'), parseDuration('1d', '--for')]).toEqual([
      90_000, 1_800_000, 86_400_000,
    ]);
    expect(() => parseDuration('1.5h', '--for')).toThrow('--for "1.5h": write a duration as 90s, 30m, 2h or 1d');
    expect(parseAssignments(['v1=90', 'v2=10'], 'a share')).toEqual([
      ['v1', '90'],
      ['v2', '10'],
    ]);
    expect(() => parseAssignments(['v1'], 'a share')).toThrow('"v1" is not a share (write name=value)');
    expect(() => parseAssignments([], 'a share')).toThrow('give at least one a share');
  });
});

describe('the CLI: changes to a document', () => {
  it('drains, keeps a weight through drain and undrain, and drops overrides that ended', () => {
    let policy = edits.weighted({}, 'a', 5, later);
    policy = edits.drained(policy, 'a', later, 'disk');
    expect(policy).toEqual({ instances: { a: { drained: true, weight: 5, until: later, reason: 'disk' } } });
    expect(edits.undrained(policy, 'a')).toEqual({ instances: { a: { weight: 5, until: later, reason: 'disk' } } });
    expect(() => edits.undrained({}, 'a')).toThrow('instance "a" is not drained');
    const ended = edits.drained({ split: { by: 'version', weights: { v1: 1 } } }, 'b', earlier, undefined);
    expect(edits.withoutEnded(ended, now)).toEqual({ split: { by: 'version', weights: { v1: 1 } } });
  });

  it('keeps ids and versions named like what every object has ("__proto__", "constructor") as fields', () => {
    const policy = edits.drained({}, '__proto__', later, undefined);
    expect(JSON.parse(JSON.stringify(policy))).toEqual(
      JSON.parse(`{"instances":{"__proto__":{"drained":true,"until":"${later}"}}}`),
    );
    expect(() => edits.undrained({ instances: {} }, 'constructor')).toThrow('instance "constructor" is not drained');
    expect(edits.undrained(policy, '__proto__')).toEqual({});
    const split = edits.split({}, ['__proto__=90', 'v2=10'], (words) => parseAssignments(words, 'a share'));
    expect(JSON.stringify(split)).toBe('{"split":{"by":"version","weights":{"__proto__":90,"v2":10}}}');
  });

  it('sets a split and call settings; `off` and `default` take them back', () => {
    const parse = (words: readonly string[]) => parseAssignments(words, 'a share');
    const split = edits.split({}, ['v1=90', 'v2=10'], parse);
    expect(split).toEqual({ split: { by: 'version', weights: { v1: 90, v2: 10 } } });
    expect(edits.split(split, ['off'], parse)).toEqual({});
    const calls = edits.callSettings(split, [
      ['timeoutMs', '3000'],
      ['hedge', 'off'],
    ]);
    expect(calls.calls).toEqual({ timeoutMs: 3000, hedge: false });
    expect(
      edits.callSettings(calls, [
        ['timeoutMs', 'default'],
        ['hedge', 'default'],
      ]),
    ).toEqual(split);
    expect(() => edits.callSettings({}, [['hedge', 'maybe']])).toThrow('hedge=maybe: on or off');
  });
});

describe('the CLI: the share of calls each instance gets', () => {
  const list = [endpoint('a', 'v1'), endpoint('b', 'v1'), endpoint('c', 'v2'), endpoint('d', 'v2', 'draining')];
  const shares = (policy: Parameters<typeof trafficOf>[1]) =>
    Object.fromEntries([...trafficOf(list, policy, now)].map(([id, { share }]) => [id, share]));

  it('equal among the instances up, with no policy', () => {
    expect(shares(undefined)).toEqual({ a: 1 / 3, b: 1 / 3, c: 1 / 3, d: 0 });
  });

  it('by the split, then equal within a version; a drained instance gets none, up to the guard', () => {
    const split = { by: 'version' as const, weights: { v1: 90, v2: 10 } };
    expect(shares({ split })).toEqual({ a: 0.45, b: 0.45, c: 0.1, d: 0 });
    expect(shares({ split, instances: { a: { drained: true, until: later } } })).toEqual({
      a: 0,
      b: 0.9,
      c: 0.1,
      d: 0,
    });
    const both = { a: { drained: true, until: later }, b: { drained: true, until: later } };
    expect(shares({ instances: both })).toEqual({ a: 0, b: 0.5, c: 0.5, d: 0 }); // the guard allows 1 of 3
    expect(shares({ instances: { a: { drained: true, until: earlier } } })).toEqual(shares(undefined));
  });

  it('steps the split aside when no version it names has an instance', () => {
    expect(shares({ split: { by: 'version', weights: { v9: 1 } } })).toEqual(shares(undefined));
  });
});
