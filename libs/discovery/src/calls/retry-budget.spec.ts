import { LatencyWindow } from './latency-window.js';
import { ServiceCalls } from './call-policies.js';
import { RetryBudget } from './retry-budget.js';

describe('RetryBudget', () => {
  it('allows retries up to the share of the calls of the last 10 s, and at least minPerSecond a second', () => {
    const clock = { now: 1_000_000 };
    const budget = new RetryBudget(20, 1, () => clock.now);
    // The floor: 1 a second over 10 s.
    expect(Array.from({ length: 12 }, () => budget.tryWithdraw()).filter(Boolean)).toHaveLength(10);
    for (let call = 0; call < 100; call += 1) budget.callStarted();
    // 20 % of 100 calls is 20: ten more than the ten already taken.
    expect(Array.from({ length: 15 }, () => budget.tryWithdraw()).filter(Boolean)).toHaveLength(10);
    clock.now += 11_000; // all of it out of the window
    expect(budget.tryWithdraw()).toBe(true);
  });

  it('with percent 0 and no floor, never allows one', () => {
    const budget = new RetryBudget(0, 0);
    for (let call = 0; call < 100; call += 1) budget.callStarted();
    expect(budget.tryWithdraw()).toBe(false);
  });
});

describe('LatencyWindow', () => {
  const turnEnds = () => new Promise((resolve) => setImmediate(resolve));
  /** Records each of `answers` in a turn of the event loop of its own, as answers read one at a time are. */
  const recordApart = async (window: LatencyWindow, answers: number[]) => {
    for (const answer of answers) {
      window.record(answer);
      await turnEnds();
    }
  };
  const many = (count: number, value: (index: number) => number) => Array.from({ length: count }, (_, i) => value(i));

  it('gives the 95th percentile of the last 128 answers once 20 are known', async () => {
    const window = new LatencyWindow();
    await recordApart(
      window,
      many(19, (i) => i + 1),
    );
    expect(window.percentile95).toBeNaN();
    await recordApart(window, [20]);
    expect(window.percentile95).toBe(19); // of 1..20
    await recordApart(
      window,
      many(128, (i) => ((i + 1) % 100 === 0 ? 1000 : 5)),
    );
    expect(window.percentile95).toBe(5); // one slow answer in 128 is above the p95
  });

  it('counts answers read in one turn of the event loop once: a pause of the caller does not set the p95', async () => {
    const window = new LatencyWindow();
    await recordApart(
      window,
      many(100, () => 5),
    );
    // A pause: 40 answers in flight during it, all read in the turn after it, each 80 ms late.
    for (let answer = 0; answer < 40; answer += 1) window.record(80);
    await turnEnds();
    expect(window.percentile95).toBe(5);
    // A slow instance: its answers come in turns of their own, and move the p95 once taken again (16 answers later).
    await recordApart(
      window,
      many(16, () => 80),
    );
    expect(window.percentile95).toBe(80);
  });
});

describe('ServiceCalls hedge budget', () => {
  it('keeps hedges under their own share, counted in the retry budget too; a refused one takes nothing', () => {
    vi.useFakeTimers({ now: 1_000_000 });
    const logger = { log: () => undefined, error: () => undefined, warn: () => undefined };
    const hedge = { afterMs: 'adaptive' as const, minMs: 10, maxMs: 250, maxAttempts: 3, budgetPercent: 5 };
    const policy = {
      timeoutMs: 1000,
      attemptTimeoutMs: 500,
      hedge,
      budget: { percent: 20, minPerSecond: 0 },
      connectionsPerInstance: 64,
    };
    const calls = new ServiceCalls('svc', policy, logger);
    for (let call = 0; call < 1000; call += 1) calls.started();
    // 5 % of 1,000 calls: 50 hedges, then none.
    expect(Array.from({ length: 80 }, () => calls.mayHedge()).filter(Boolean)).toHaveLength(50);
    // The retry budget (20 %: 200) had the 50 hedges taken from it, and none of the 30 refused.
    expect(Array.from({ length: 200 }, () => calls.mayTryAgain()).filter(Boolean)).toHaveLength(150);
    vi.useRealTimers();
  });
});

describe('ServiceCalls budget warnings', () => {
  afterEach(() => vi.useRealTimers());

  it('warns once per episode of refusals, though the floor lets a retry through each second', () => {
    vi.useFakeTimers({ now: 1_000_000 });
    const warnings: string[] = [];
    const logger = { log: () => undefined, error: () => undefined, warn: (message: string) => warnings.push(message) };
    const policy = {
      timeoutMs: 1000,
      attemptTimeoutMs: 500,
      hedge: false as const,
      budget: { percent: 0, minPerSecond: 1 },
      connectionsPerInstance: 64,
    };
    const calls = new ServiceCalls('svc', policy, logger);
    // 30 s of asking 5 times a second: one allowed a second (the floor), four refused.
    for (let second = 0; second < 30; second += 1) {
      for (let ask = 0; ask < 5; ask += 1) calls.mayTryAgain();
      vi.advanceTimersByTime(1000);
    }
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('Retry budget of "svc" spent');
    vi.advanceTimersByTime(11_000); // a quiet spell longer than the window ends the episode
    for (let ask = 0; ask < 20; ask += 1) calls.mayTryAgain();
    expect(warnings).toHaveLength(2);
  });
});
