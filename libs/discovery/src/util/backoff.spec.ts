import { backoffDelay } from './backoff.js';

describe('backoffDelay (capped exponential, full jitter)', () => {
  it('doubles the ceiling per attempt up to the cap', () => {
    const ceiling = (attempt: number) => backoffDelay(attempt, 200, 5000, () => 1);
    expect([0, 1, 2, 3, 4, 5, 6, 50].map(ceiling)).toEqual([200, 400, 800, 1600, 3200, 5000, 5000, 5000]);
  });

  it('draws uniformly between 0 and the ceiling', () => {
    expect(backoffDelay(3, 200, 5000, () => 0)).toBe(0);
    expect(backoffDelay(3, 200, 5000, () => 0.25)).toBe(400);
  });
});
