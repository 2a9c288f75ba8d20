import { DiscoveryOptionsError } from '../errors.js';
import { RoundRobinStrategy } from '../balancing/round-robin.strategy.js';
import { resolveDiscoveryOptions } from './resolve-options.js';

const hosts = { etcd: { hosts: ['127.0.0.1:2379'] } };

describe('resolveDiscoveryOptions', () => {
  it('applies the documented defaults', () => {
    const { strategy, ...rest } = resolveDiscoveryOptions(hosts, {});
    expect(strategy).toBeInstanceOf(RoundRobinStrategy);
    expect(rest).toEqual({
      etcd: { hosts: ['127.0.0.1:2379'] },
      namespace: '/services',
      ttl: 10,
      registration: 'fail-fast',
      connectTimeoutMs: 5000,
      drainMs: 0,
      backoff: { initialDelayMs: 200, maxDelayMs: 5000 },
      strategies: {},
      requires: [],
      waitForRequiredMs: 0,
      resyncIntervalMs: 300_000,
      logger: true,
      outlierEjection: { consecutiveFailures: 3, baseEjectionMs: 10_000, maxEjectedPercent: 50 },
      health: undefined,
      zone: undefined,
      zonePreference: true,
      selfPreservation: { confirmMs: 3000, maxHoldMs: 30_000 },
      calls: {
        defaults: {
          timeoutMs: 10_000,
          attemptTimeoutMs: 2000,
          hedge: { afterMs: 'adaptive', minMs: 10, maxMs: 1000, maxAttempts: 3, budgetPercent: 5 },
          budget: { percent: 20, minPerSecond: 10 },
          connectionsPerInstance: 64,
        },
        services: new Map(),
      },
      slowStartMs: 0,
      metrics: { perInstance: false },
    });
  });

  it('resolves calls per service over the defaults given', () => {
    const { calls } = resolveDiscoveryOptions(
      {
        ...hosts,
        calls: {
          attemptTimeoutMs: 500,
          hedge: false,
          services: { slow: { timeoutMs: 60_000, attemptTimeoutMs: 30_000, budget: false } },
        },
      },
      {},
    );
    expect(calls.defaults).toEqual({
      timeoutMs: 10_000,
      attemptTimeoutMs: 500,
      hedge: false,
      budget: { percent: 20, minPerSecond: 10 },
      connectionsPerInstance: 64,
    });
    expect(calls.services.get('slow')).toEqual({
      timeoutMs: 60_000,
      attemptTimeoutMs: 30_000,
      hedge: false,
      budget: false,
      connectionsPerInstance: 64,
    });
  });

  it('takes the hosts from ETCD_HOSTS, comma-separated, when etcd.hosts is not set', () => {
    const resolved = resolveDiscoveryOptions({}, { ETCD_HOSTS: ' 10.0.0.1:2379, 10.0.0.2:2379 ,' });
    expect(resolved.etcd.hosts).toEqual(['10.0.0.1:2379', '10.0.0.2:2379']);
  });

  it('prefers etcd.hosts over ETCD_HOSTS, accepts a single string, and passes other etcd3 options through', () => {
    const auth = { username: 'svc', password: 'secret' };
    const resolved = resolveDiscoveryOptions({ etcd: { hosts: 'h:1', auth } }, { ETCD_HOSTS: 'other:2' });
    expect(resolved.etcd).toEqual({ hosts: ['h:1'], auth });
  });

  it('splits a comma-separated etcd.hosts string as it does ETCD_HOSTS', () => {
    expect(resolveDiscoveryOptions({ etcd: { hosts: 'a:1, b:2' } }, {}).etcd.hosts).toEqual(['a:1', 'b:2']);
    expect(() => resolveDiscoveryOptions({ etcd: { hosts: ' , ' } }, {})).toThrow(/No etcd hosts configured/);
  });

  it('drops a trailing slash of the namespace', () => {
    expect(resolveDiscoveryOptions({ ...hosts, namespace: '/prod/services/' }, {}).namespace).toBe('/prod/services');
  });

  it.each([
    ['no hosts at all', {}, /No etcd hosts configured: set `etcd.hosts`.*ETCD_HOSTS/],
    ['an empty host list', { etcd: { hosts: [] } }, /No etcd hosts configured/],
    ['an empty host', { etcd: { hosts: ['127.0.0.1:2379', ' '] } }, /Invalid etcd host " "/],
    [
      'an attempt timeout over the call timeout',
      { ...hosts, calls: { timeoutMs: 1000, attemptTimeoutMs: 2000 } },
      /`attemptTimeoutMs` \(2000\) must not exceed `timeoutMs` \(1000\)/,
    ],
    ['a typo in calls', { ...hosts, calls: { timeout: 5 } as never }, /Unknown option `calls.timeout`.*`timeoutMs`/],
    [
      "a typo in a service's calls",
      { ...hosts, calls: { services: { svc: { retries: 1 } as never } } },
      /Unknown option `calls.services\["svc"\].retries`/,
    ],
    [
      'a hedge whose maxMs is below minMs',
      { ...hosts, calls: { hedge: { minMs: 50, maxMs: 10 } } },
      /`maxMs` \(10\) must be at least `minMs` \(50\)/,
    ],
    [
      'a hedge with more attempts than gRPC allows',
      { ...hosts, calls: { hedge: { maxAttempts: 6 } } },
      /`maxAttempts` must be a whole number from 2 to 5/,
    ],
    [
      'a hedge budget share below 0',
      { ...hosts, calls: { hedge: { budgetPercent: -1 } } },
      /`budgetPercent` must be a number between 0 and 100/,
    ],
    [
      'a bound on connections that is not a whole number',
      { ...hosts, calls: { services: { svc: { connectionsPerInstance: 0.5 } } } },
      /Invalid `calls.services\["svc"\].connectionsPerInstance` 0.5 .*: give a whole number ≥ 1/,
    ],
    [
      'a budget share over 100',
      { ...hosts, calls: { budget: { percent: 150 } } },
      /`percent` must be between 0 and 100/,
    ],
    [
      'metrics that is not an object',
      { ...hosts, metrics: true as never },
      /Invalid `metrics` true: an object, such as \{ perInstance: true \}/,
    ],
    [
      'a typo inside metrics',
      { ...hosts, metrics: { perinstance: true } as never },
      /Unknown option `metrics\.perinstance`.*takes `perInstance`/,
    ],
    [
      'perInstance that is not a boolean',
      { ...hosts, metrics: { perInstance: 'yes' as never } },
      /Invalid `metrics.perInstance` "yes": true/,
    ],
    ['a negative slowStartMs', { ...hosts, slowStartMs: -1 }, /Invalid `slowStartMs` -1/],
    [
      'https:// and plain hosts mixed',
      { etcd: { hosts: ['https://a:2379', 'b:2379'] } },
      /mix https:\/\/ and plain hosts.*all of them as https:\/\/ \(TLS\) or none/,
    ],
    ['ttl 0', { ...hosts, ttl: 0 }, /Invalid `ttl` 0.*at least 1/],
    ['a fractional ttl', { ...hosts, ttl: 1.5 }, /Invalid `ttl` 1.5.*whole number of seconds/],
    [
      'a namespace without a leading slash',
      { ...hosts, namespace: 'services' },
      /Invalid `namespace` "services".*must start with "\/"/,
    ],
    ['the root namespace', { ...hosts, namespace: '/' }, /Invalid `namespace` "\/"/],
    ['an empty namespace segment', { ...hosts, namespace: '/a//b' }, /Invalid `namespace` "\/a\/\/b"/],
    [
      'an unknown registration mode',
      { ...hosts, registration: 'lazy' as never },
      /Invalid `registration` "lazy".*'fail-fast'.*'background'/,
    ],
    ['a negative drain', { ...hosts, drainMs: -1 }, /Invalid `drainMs` -1.*≥ 0/],
    ['a zero connect timeout', { ...hosts, connectTimeoutMs: 0 }, /Invalid `connectTimeoutMs` 0/],
    [
      'a strategy without pick()',
      { ...hosts, strategy: {} as never },
      /Invalid load-balancing strategy in `strategy`: give an object with a pick/,
    ],
    [
      'a per-service strategy that is a string',
      { ...hosts, strategies: { svc: 'rr' as never } },
      /Invalid load-balancing strategy in `strategies\["svc"\]`/,
    ],
    [
      'a per-service strategy for a bad name',
      { ...hosts, strategies: { 'a/b': {} as never } },
      /Invalid service name "a\/b" in `strategies`/,
    ],
    [
      'outlier ejection after 0 failures',
      { ...hosts, outlierEjection: { consecutiveFailures: 0 } },
      /Invalid `outlierEjection`.*`consecutiveFailures` must be a whole number ≥ 1/,
    ],
    [
      'outlier ejection of 150 %',
      { ...hosts, outlierEjection: { maxEjectedPercent: 150 } },
      /`maxEjectedPercent` must be between 0 and 100/,
    ],
    [
      'self-preservation that is not an object',
      { ...hosts, selfPreservation: true as never },
      /Invalid `selfPreservation` true: give false or \{ confirmMs, maxHoldMs \}/,
    ],
    [
      'self-preservation held shorter than confirmed',
      { ...hosts, selfPreservation: { maxHoldMs: 1000 } },
      /`maxHoldMs` \(1000\) must be at least `confirmMs` \(3000\)/,
    ],
    [
      'a typo inside selfPreservation',
      { ...hosts, selfPreservation: { confirmMS: 100 } as never },
      new RegExp(
        'Unknown option `selfPreservation\\.confirmMS` in DiscoveryModule\\.forRoot\\(\\)/forRootAsync\\(\\): ' +
          '`selfPreservation` takes `confirmMs`, `maxHoldMs`',
      ),
    ],
    [
      'a typo inside outlierEjection',
      { ...hosts, outlierEjection: { consecutiveFailure: 2 } as never },
      new RegExp(
        'Unknown option `outlierEjection\\.consecutiveFailure`.*' +
          'takes `consecutiveFailures`, `baseEjectionMs`, `maxEjectedPercent`',
      ),
    ],
    [
      'a typo inside health',
      { ...hosts, health: { check: () => true, interval: 10 } as never },
      /Unknown option `health\.interval`.*takes `intervalMs`, `unhealthyThreshold`, `healthyThreshold`, `check`/,
    ],
    [
      'a typo inside backoff',
      { ...hosts, backoff: { maxDelay: 10 } as never },
      /Unknown option `backoff\.maxDelay`.*takes `initialDelayMs`, `maxDelayMs`/,
    ],
    [
      'a typo inside retry (its old name)',
      { ...hosts, retry: { maxDelay: 10 } as never },
      /Unknown option `retry\.maxDelay`.*takes `initialDelayMs`, `maxDelayMs`/,
    ],
    [
      'backoff and retry both',
      { ...hosts, backoff: { maxDelayMs: 10 }, retry: { maxDelayMs: 10 } },
      /Both `backoff` and `retry`.*keep `backoff` only/,
    ],
    ['a health option without check()', { ...hosts, health: {} as never }, /Invalid `health` option: give \{ check/],
    [
      'a health threshold of 0',
      { ...hosts, health: { check: () => true, unhealthyThreshold: 0 } },
      /`unhealthyThreshold` must be a whole number ≥ 1/,
    ],
    ['a logger that is not a boolean', { ...hosts, logger: 'off' as never }, /Invalid `logger` "off": use false/],
    [
      'requires that is not an array',
      { ...hosts, requires: 'log' as never },
      /Invalid `requires` "log": give an array/,
    ],
    ['a required service with a slash', { ...hosts, requires: ['a/b'] }, /Invalid service name "a\/b" in `requires`/],
    ['a negative waitForRequiredMs', { ...hosts, waitForRequiredMs: -5 }, /Invalid `waitForRequiredMs` -5/],
    ['a resync interval under a second', { ...hosts, resyncIntervalMs: 10 }, /Invalid `resyncIntervalMs` 10.*≥ 1000/],
    [
      'an unknown option (a typo)',
      { ...hosts, ttL: 5 },
      new RegExp(
        'Unknown option `ttL` in DiscoveryModule\\.forRoot\\(\\)/forRootAsync\\(\\): ' +
          'the options are `etcd`, `namespace`, `ttl`,',
      ),
    ],
    [
      'a backoff cap below its start',
      { ...hosts, backoff: { initialDelayMs: 500, maxDelayMs: 100 } },
      /Invalid `backoff`.*`maxDelayMs` \(100\) must be at least `initialDelayMs` \(500\)/,
    ],
  ])('rejects %s with a message that says what to fix', (_case, options, message) => {
    expect(() => resolveDiscoveryOptions(options, {})).toThrow(DiscoveryOptionsError);
    expect(() => resolveDiscoveryOptions(options, {})).toThrow(message);
  });
});

describe('retry, the old name of backoff', () => {
  it('is read as backoff, and a process that uses it is told once to rename it', () => {
    const warning = vi.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    try {
      const given = { initialDelayMs: 50, maxDelayMs: 900 };
      expect(resolveDiscoveryOptions({ ...hosts, retry: given }, {}).backoff).toEqual(given);
      expect(resolveDiscoveryOptions({ ...hosts, retry: given }, {}).backoff).toEqual(given);
      expect(warning).toHaveBeenCalledTimes(1);
      expect(warning).toHaveBeenCalledWith(expect.stringMatching(/`retry` option .* is now `backoff`/), {
        type: 'DeprecationWarning',
        code: 'NESTJS_ETCD_DISCOVERY_RETRY',
      });
    } finally {
      warning.mockRestore();
    }
  });
});
