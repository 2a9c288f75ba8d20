import { CallerLoad } from './caller-load.js';

describe('CallerLoad', () => {
  afterEach(() => vi.useRealTimers());

  it('a timer more than 50 ms late is too late to hedge, and makes the caller overloaded for 250 ms', () => {
    vi.useFakeTimers({ toFake: ['performance'] });
    const load = new CallerLoad();
    expect(load.timerLate(50)).toBe(false);
    expect(load.overloadedForMs).toBe(0);
    expect(load.timerLate(51)).toBe(true);
    expect(load.overloadedForMs).toBe(250);
    vi.advanceTimersByTime(249);
    expect(load.overloadedForMs).toBe(1);
    expect(load.timerLate(10)).toBe(false); // on time again: the overload still ends 250 ms after the late one
    vi.advanceTimersByTime(1);
    expect(load.overloadedForMs).toBe(0);
  });

  it('pushes the hedge of a call starting while overloaded past the overload, never past its attempt timeout', () => {
    vi.useFakeTimers({ toFake: ['performance'] });
    const load = new CallerLoad();
    expect(load.hedgeDelay(10, 2000)).toBe(10);
    load.timerLate(60);
    vi.advanceTimersByTime(50);
    expect(load.hedgeDelay(10, 2000)).toBe(10 + 200); // what is left of the 250 ms
    expect(load.hedgeDelay(10, 210)).toBe(10 + 100); // half the time to the attempt timeout at most
  });
});
