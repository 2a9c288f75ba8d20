import { loopTurn } from './loop-turn.js';

const turnEnds = () => new Promise((resolve) => setImmediate(resolve));

describe('loopTurn', () => {
  afterEach(() => {
    vi.restoreAllMocks();
    vi.useRealTimers();
  });

  it('is the same all through one turn of the event loop, and the next one after it', async () => {
    await turnEnds();
    const turn = loopTurn();
    await Promise.resolve(); // microtasks are the same turn
    expect(loopTurn()).toBe(turn);
    await turnEnds();
    expect(loopTurn()).toBe(turn + 1);
  });

  it('sets the end of a turn again once the last has not run for a second (fake timers never ran it)', async () => {
    await turnEnds();
    vi.useFakeTimers({ toFake: ['performance'] });
    const neverRun = vi.spyOn(globalThis, 'setImmediate').mockImplementation((() => undefined) as never);
    const turn = loopTurn();
    vi.advanceTimersByTime(1000);
    expect(loopTurn()).toBe(turn);
    expect(neverRun).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(1);
    loopTurn();
    expect(neverRun).toHaveBeenCalledTimes(2); // the last test of the file: the end it set stays lost
  });
});
