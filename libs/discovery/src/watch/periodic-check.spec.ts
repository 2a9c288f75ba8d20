import { DEEP_EVERY, PeriodicChecks } from './periodic-check.js';

describe("PeriodicChecks (one round of every watch's check, jittered)", () => {
  afterEach(() => vi.useRealTimers());

  it('runs every check in each round, rounds 0.5 to 1.5 intervals apart; every 12th round is deep', async () => {
    vi.useFakeTimers();
    let random = 0;
    const checks = new PeriodicChecks(1000, () => random);
    const heard: string[] = [];
    checks.add(async (deep) => void heard.push(`a${deep ? ' deep' : ''}`));
    const remove = checks.add(async (deep) => void heard.push(`b${deep ? ' deep' : ''}`));
    await vi.advanceTimersByTimeAsync(499);
    expect(heard).toEqual([]);
    random = 0.999; // the next round, at most one and a half of the interval later
    await vi.advanceTimersByTimeAsync(1);
    expect(heard).toEqual(['a', 'b']); // random 0: half the interval
    await vi.advanceTimersByTimeAsync(1497);
    expect(heard).toHaveLength(2);
    random = 0.5;
    await vi.advanceTimersByTimeAsync(2);
    expect(heard).toHaveLength(4);
    remove();
    await vi.advanceTimersByTimeAsync(1000 * (DEEP_EVERY - 2));
    // Rounds 3 to 12, the last deep; b was taken out.
    expect(heard.slice(4)).toEqual([...Array.from({ length: DEEP_EVERY - 3 }, () => 'a'), 'a deep']);
    checks.stop();
    await vi.advanceTimersByTimeAsync(10_000);
    expect(heard).toHaveLength(4 + DEEP_EVERY - 2);
  });
});
