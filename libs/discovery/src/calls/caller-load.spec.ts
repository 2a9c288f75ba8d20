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
});
