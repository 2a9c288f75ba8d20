import { RecentCalls } from './recent-calls.js';

describe("RecentCalls (an instance's last minute)", () => {
  it('counts errors and timeouts, and gives p50/p99 within ±10 % of the response times', () => {
    const calls = new RecentCalls(() => 5_000);
    for (let answer = 1; answer <= 98; answer += 1) calls.record(false, false, answer); // 1 … 98 ms
    calls.record(true, false, undefined); // unreachable: no response time
    calls.record(false, true, 2000); // timed out after 2 s
    const minute = calls.lastMinute();
    expect(minute).toMatchObject({ calls: 100, errors: 1, timedOut: 1 });
    // 99 times: the 50th is 50 ms, the 99th (p99 of 99) the 2 s silence.
    expect(minute.p50Ms! / 50).toBeGreaterThan(0.9);
    expect(minute.p50Ms! / 50).toBeLessThan(1.1);
    expect(minute.p99Ms! / 2000).toBeGreaterThan(0.9);
    expect(minute.p99Ms! / 2000).toBeLessThan(1.1);
  });

  it('forgets what is older than a minute, slot by slot, and has no percentiles without a response time', () => {
    let now = 0;
    const calls = new RecentCalls(() => now);
    calls.record(false, false, 10);
    now = 30_000;
    calls.record(true, false, undefined);
    expect(calls.lastMinute()).toMatchObject({ calls: 2, errors: 1 });
    now = 65_000; // the first slot (0–10 s) is out
    expect(calls.lastMinute()).toEqual({ calls: 1, errors: 1, timedOut: 0, p50Ms: undefined, p99Ms: undefined });
    now = 125_000; // and a slot reused for a later period starts empty
    calls.record(false, false, 1);
    expect(calls.lastMinute()).toMatchObject({ calls: 1, errors: 0 });
  });
});
