import { Logger, type INestApplicationContext } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { DiscoveryClient } from '../discovery/discovery-client.js';
import { CallTimeoutError } from '../errors.js';
import type { DiscoveryCallsOptions } from '../options/calls-options.interface.js';
import type { ServiceEndpoint } from '../service-endpoint.interface.js';
import { CapturingLogger } from '@repo/testing';
import { DiscoveryTestingModule } from '../testing/index.js';
import type { AttemptContext } from './run-settings.interface.js';

/** Calls with deadlines, hedges and a budget, on three in-memory instances of "svc" (ports 1, 2, 3). */
const apps: INestApplicationContext[] = [];
let logger: CapturingLogger;
afterAll(() => Logger.overrideLogger(new Logger()));
afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close()));
});

async function discoveryWith(calls: DiscoveryCallsOptions, ejecting = false) {
  const outlierEjection = ejecting ? undefined : false; // undefined: the defaults
  const endpoints = { svc: ['127.0.0.1:1', '127.0.0.1:2', '127.0.0.1:3'] };
  const app = await (
    await Test.createTestingModule({
      imports: [DiscoveryTestingModule.forRoot({ endpoints, calls, outlierEjection })],
    }).compile()
  ).init();
  logger = new CapturingLogger();
  app.useLogger(logger); // after compile(), which installs the testing module's own
  apps.push(app);
  return app.get(DiscoveryClient);
}

/** An instance that never answers: its promise settles only when the attempt is aborted (then with the abort). */
const silent = (signal: AbortSignal) =>
  new Promise<never>((_, reject) => signal.addEventListener('abort', () => reject(signal.reason as Error)));
const refused = () => Promise.reject(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('call() with deadlines', () => {
  it('an attempt past attemptTimeoutMs is aborted and blames its instance; not retried unless idempotent', async () => {
    const discovery = await discoveryWith({ attemptTimeoutMs: 50, hedge: false });
    const aborted: number[] = [];
    const call = discovery.call('svc', (endpoint, { signal }) => {
      signal.addEventListener('abort', () => aborted.push(endpoint.port));
      return silent(signal);
    });
    const error = (await call.catch((caught: unknown) => caught)) as CallTimeoutError;
    expect(error).toBeInstanceOf(CallTimeoutError);
    expect(error.service).toBe('svc');
    expect(error.attempts).toBe(1);
    expect(error.message).toMatch(
      new RegExp(
        '^call\\("svc"\\) got no answer within attemptTimeoutMs \\(50 ms\\) ' +
          'from 127\\.0\\.0\\.1:\\d \\(1 attempt\\)\\. It was not retried elsewhere: .*idempotent: true',
      ),
    );
    expect(aborted).toHaveLength(1);
    expect(discovery.callCounts.snapshot().reduce((sum, counts) => sum + counts.timedOut, 0)).toBe(1);
  });

  it('an idempotent call moves on after an attempt timeout, to an instance not tried yet', async () => {
    const discovery = await discoveryWith({ attemptTimeoutMs: 50, hedge: false });
    const seen: { port: number; attempt: number }[] = [];
    const frozen = discovery.pick('svc').port; // round robin: the next call starts on the one after it
    const answer = await discovery.call(
      'svc',
      (endpoint, { signal, attempt }: AttemptContext) => {
        seen.push({ port: endpoint.port, attempt });
        return endpoint.port === (frozen % 3) + 1 ? silent(signal) : Promise.resolve(endpoint.port);
      },
      { idempotent: true },
    );
    expect(seen.map((attempt) => attempt.attempt)).toEqual([1, 2]);
    expect(seen[1].port).not.toBe(seen[0].port);
    expect(answer).toBe(seen[1].port);
  });

  it('timeoutMs bounds the whole call, retries included, and the error names every instance tried', async () => {
    // Attempts start at 0, 110 and 220 ms, the third cut by the call's deadline at 300: 80 ms of slack for late timers
    // on a loaded machine (with 60 ms attempts in 150, a CI run once made only two).
    const discovery = await discoveryWith({ timeoutMs: 300, attemptTimeoutMs: 110, hedge: false });
    const started = performance.now();
    const error = (await discovery
      .call('svc', (_endpoint, { signal }) => silent(signal), { idempotent: true, retries: 5 })
      .catch((caught: unknown) => caught)) as CallTimeoutError;
    const tookMs = performance.now() - started;
    expect(error).toBeInstanceOf(CallTimeoutError);
    expect(error.message).toMatch(
      /within its timeoutMs \(300 ms\) from 127\.0\.0\.1:\d, 127\.0\.0\.1:\d and 127\.0\.0\.1:\d \(3 attempts\)/,
    );
    expect(new Set(error.tried).size).toBe(3);
    expect(tookMs).toBeGreaterThanOrEqual(290); // never before its deadline
  });

  it('a hedge goes elsewhere after hedge.afterMs with no answer; first answer wins, the other is aborted', async () => {
    const discovery = await discoveryWith({ attemptTimeoutMs: 1000, hedge: { afterMs: 20 } });
    const aborted: number[] = [];
    const ports: number[] = [];
    const answer = await discovery.call(
      'svc',
      (endpoint, { signal }) => {
        ports.push(endpoint.port);
        signal.addEventListener('abort', () => aborted.push(endpoint.port));
        return ports.length === 1 ? silent(signal) : sleep(5).then(() => endpoint.port);
      },
      { idempotent: true },
    );
    expect(ports).toHaveLength(2);
    expect(answer).toBe(ports[1]);
    expect(aborted).toEqual([ports[0]]);
    // The one that kept silent while another answered counts as a timeout of its instance.
    expect(discovery.callCounts.snapshot().find((counts) => counts.instance.endsWith(`:${ports[0]}`))!.timedOut).toBe(
      1,
    );
  });

  it('two instances silent at once: another hedge every afterMs, up to maxAttempts; both silent blamed', async () => {
    const discovery = await discoveryWith({ attemptTimeoutMs: 1000, hedge: { afterMs: 20, maxAttempts: 3 } });
    const started: { port: number; at: number }[] = [];
    const begin = performance.now();
    const answer = await discovery.call(
      'svc',
      (endpoint, { signal }) => {
        started.push({ port: endpoint.port, at: performance.now() - begin });
        return started.length < 3 ? silent(signal) : sleep(5).then(() => endpoint.port);
      },
      { idempotent: true },
    );
    expect(started.map(({ port }) => port).sort()).toEqual([1, 2, 3]); // each to an instance not tried yet
    expect(answer).toBe(started[2].port);
    expect(started[2].at).toBeGreaterThanOrEqual(38); // the second hedge one delay after the first
    expect(started[2].at).toBeLessThan(500); // not the attempt timeout
    const timedOut = discovery.callCounts.snapshot().filter((counts) => counts.timedOut === 1);
    expect(timedOut.map((counts) => Number(counts.instance.split(':').at(-1))).sort()).toEqual(
      started
        .slice(0, 2)
        .map(({ port }) => port)
        .sort(),
    );
  });

  it('at maxAttempts 2, one hedge only: the call waits for the attempt timeout when both are silent', async () => {
    const discovery = await discoveryWith({ attemptTimeoutMs: 150, hedge: { afterMs: 20, maxAttempts: 2 } });
    const ports: number[] = [];
    const answer = await discovery.call(
      'svc',
      (endpoint, { signal }) => (ports.push(endpoint.port), ports.length < 3 ? silent(signal) : Promise.resolve(0)),
      { idempotent: true },
    );
    expect({ answer, attempts: ports.length }).toEqual({ answer: 0, attempts: 3 }); // the third: a retry after 150 ms
  });

  it('no hedge when the caller itself is late (its event loop blocked past the hedge delay)', async () => {
    const discovery = await discoveryWith({ attemptTimeoutMs: 300, hedge: { afterMs: 10 } });
    const ports: number[] = [];
    const call = discovery.call(
      'svc',
      (endpoint) => {
        ports.push(endpoint.port);
        return sleep(150).then(() => endpoint.port);
      },
      { idempotent: true },
    );
    const blockedUntil = performance.now() + 120;
    while (performance.now() < blockedUntil); // the caller busy: its hedge timer fires 110 ms late
    await call;
    expect(ports).toHaveLength(1);
  });

  it('for 250 ms after a timer came that late, a hedge waits for that: only a silent call is hedged', async () => {
    const discovery = await discoveryWith({ attemptTimeoutMs: 2000, hedge: { afterMs: 10 } });
    /** A call whose first attempt answers in `firstMs` (never, if undefined), the others at once: its attempts. */
    const attemptsOfCall = async (firstMs?: number) => {
      let attempts = 0;
      const attempt = (endpoint: ServiceEndpoint, { signal }: AttemptContext) => {
        attempts += 1;
        if (attempts > 1) return Promise.resolve(endpoint.port);
        return firstMs === undefined ? silent(signal) : sleep(firstMs).then(() => endpoint.port);
      };
      await discovery.call('svc', attempt, { idempotent: true });
      return attempts;
    };
    const blocked = attemptsOfCall(60);
    const blockedUntil = performance.now() + 120;
    while (performance.now() < blockedUntil); // its hedge timer fires 110 ms late: the caller is overloaded
    expect(await blocked).toBe(1);
    await new Promise((resolve) => setImmediate(resolve)); // the late timer is heard after the answers read with it
    expect(await attemptsOfCall(60)).toBe(1); // its hedge was due at 10 ms: it waited, and the answer came first
    const startedAt = performance.now();
    expect(await attemptsOfCall()).toBe(2); // a silent first attempt: hedged once the overload passed
    expect(performance.now() - startedAt).toBeLessThan(1000); // not after its attempt timeout (2 s)
    await sleep(250);
    expect(await attemptsOfCall(60)).toBeGreaterThan(1); // hedged at 10 ms again
  });

  it('late, then still unanswered: the hedge is asked again, and goes once the caller is on time', async () => {
    const discovery = await discoveryWith({ attemptTimeoutMs: 2000, hedge: { afterMs: 10 } });
    const ports: number[] = [];
    const startedAt = performance.now();
    const call = discovery.call(
      'svc',
      (endpoint, { signal }) => (ports.push(endpoint.port), ports.length === 1 ? silent(signal) : Promise.resolve(1)),
      { idempotent: true },
    );
    const blockedUntil = performance.now() + 120;
    while (performance.now() < blockedUntil); // the hedge timer fires 110 ms late: no hedge then
    expect(await call).toBe(1);
    expect(ports).toHaveLength(2);
    // Asked again no sooner than the lateness (110 ms), not after the attempt timeout (2 s).
    expect(performance.now() - startedAt).toBeLessThan(1000);
  });

  it('an instance past its attempt timeout stays ejected when late answers come (fn ignoring abort)', async () => {
    const discovery = await discoveryWith({ attemptTimeoutMs: 50, hedge: false }, true);
    const late = (endpoint: ServiceEndpoint) => sleep(endpoint.port === 1 ? 80 : 0).then(() => endpoint.port);
    for (let call = 0; call < 9; call += 1) await discovery.call('svc', late, { idempotent: true });
    await sleep(100); // every late answer has come
    expect(Array.from({ length: 6 }, () => discovery.pick('svc').port)).not.toContain(1);
  });

  it('never hedges a call not known to be idempotent', async () => {
    const discovery = await discoveryWith({ attemptTimeoutMs: 1000, hedge: { afterMs: 5 } });
    const ports: number[] = [];
    await discovery.call('svc', (endpoint) => (ports.push(endpoint.port), sleep(40).then(() => endpoint.port)));
    expect(ports).toHaveLength(1);
  });

  it('with the budget spent, a failure is the result: no retry, and it is said once', async () => {
    const discovery = await discoveryWith({ hedge: false, budget: { percent: 0, minPerSecond: 0 } });
    for (let call = 0; call < 3; call += 1) {
      const tried: number[] = [];
      await expect(discovery.call('svc', (endpoint) => (tried.push(endpoint.port), refused()))).rejects.toThrow(
        /ECONNREFUSED/,
      );
      expect(tried).toHaveLength(1);
    }
    expect(logger.warnings.filter((line) => line.includes('Retry budget of "svc" spent'))).toHaveLength(1);
  });

  it('within the budget, refused connections move on (20 % of calls, at least 10 a second)', async () => {
    const discovery = await discoveryWith({ hedge: false });
    const tried: ServiceEndpoint[] = [];
    const answer = await discovery.call(
      'svc',
      (endpoint) => (tried.push(endpoint), tried.length < 3 ? refused() : Promise.resolve('third')),
    );
    expect(answer).toBe('third');
    expect(new Set(tried.map((endpoint) => endpoint.port)).size).toBe(3);
  });

  it('rejects bad per-call options at once, saying what to give', async () => {
    const discovery = await discoveryWith({});
    await expect(discovery.call('svc', async () => 1, { timeoutMs: 0 })).rejects.toThrow(
      /`timeoutMs` as a number of milliseconds ≥ 1, not 0/,
    );
    await expect(discovery.call('svc', async () => 1, { idempotent: 'yes' as never })).rejects.toThrow(
      /`idempotent` as true or false/,
    );
  });
});
