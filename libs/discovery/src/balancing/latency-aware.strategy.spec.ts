import { scripted } from '@repo/testing';
import { endpointList as endpoints } from '@repo/testing/endpoints';
import { DiscoveryOptionsError } from '../errors.js';
import { LatencyAwareStrategy } from './latency-aware.strategy.js';

const svc = { service: 'svc' };
const list = endpoints(['a', 'b', 'c']);
const [a, b, c] = list as [(typeof list)[number], (typeof list)[number], (typeof list)[number]];

/** One call to `endpoint` that answered after `ms`. */
function answered(strategy: LatencyAwareStrategy, endpoint: typeof a, ms: number): void {
  strategy.callStarted(endpoint);
  strategy.callFinished(endpoint, ms);
}

afterEach(() => vi.restoreAllMocks());

describe('LatencyAwareStrategy (power of two choices over peak-EWMA cost × (in flight + 1))', () => {
  it('of two drawn endpoints takes the one that answers faster', () => {
    // Draws: first floor(0.1·3) = 0 (a), second floor(0.9·2) = 1 → skips a → 2 (c).
    const strategy = new LatencyAwareStrategy({ random: scripted([0.1, 0.9]) });
    answered(strategy, a, 21);
    answered(strategy, c, 1);
    expect(strategy.pick(list, svc)?.id).toBe('c');
  });

  it('weighs calls in flight: a fast endpoint with 30 in flight loses to a slower idle one', () => {
    // One instant: c silent for no time, so its cost is its 1 ms (a CI run paused 1.8 ms in here: scored 57, not 31).
    vi.spyOn(performance, 'now').mockReturnValue(1000);
    const strategy = new LatencyAwareStrategy({ random: scripted([0.1, 0.9]) });
    answered(strategy, a, 10);
    answered(strategy, c, 1);
    for (let call = 0; call < 30; call += 1) strategy.callStarted(c);
    expect(strategy.score(c)).toBeCloseTo(31, 0);
    expect(strategy.pick(list, svc)?.id).toBe('a');
  });

  it('counts a slower answer in full at once (peak), a faster one gradually, and forgets with time', async () => {
    const strategy = new LatencyAwareStrategy({ decayMs: 50 });
    answered(strategy, a, 1);
    answered(strategy, a, 20);
    expect(strategy.score(a)).toBeGreaterThan(19);
    answered(strategy, a, 1);
    expect(strategy.score(a)).toBeGreaterThan(15); // one fast answer a moment later barely moves it
    await new Promise((resolve) => setTimeout(resolve, 150)); // three decay times: e^-3 ≈ 5 %
    expect(strategy.score(a)).toBeGreaterThan(15); // picks read the time of the last call event, not the clock
    answered(strategy, b, 1); // a call to another endpoint: time moves on for the service
    expect(strategy.score(a)).toBeLessThan(2);
  });

  it('starts a new endpoint at the median of the service, not at zero', () => {
    const strategy = new LatencyAwareStrategy();
    answered(strategy, a, 4);
    answered(strategy, b, 6);
    answered(strategy, b, 5);
    expect(strategy.score(c)).toBeCloseTo(5, 0);
    expect(strategy.score(endpoints(['x'], {}, 'other')[0])).toBe(0); // another service knows nothing yet
  });

  it('a call with no answer (connection failure) teaches nothing of response time but is no longer in flight', () => {
    const strategy = new LatencyAwareStrategy();
    answered(strategy, a, 3);
    strategy.callStarted(a);
    expect(strategy.score(a)).toBeCloseTo(6, 0);
    strategy.callFinished(a);
    expect(strategy.score(a)).toBeCloseTo(3, 0);
  });

  it('sends a slower endpoint far fewer calls under steady load', () => {
    const strategy = new LatencyAwareStrategy();
    const picks = new Map<string, number>();
    for (let call = 0; call < 3000; call += 1) {
      const endpoint = strategy.pick(list, svc)!;
      picks.set(endpoint.id, (picks.get(endpoint.id) ?? 0) + 1);
      answered(strategy, endpoint, endpoint.id === 'b' ? 21 : 1);
    }
    expect(picks.get('b')! / 3000).toBeLessThan(0.05);
  });

  it('counts silence: one whose call waits past its usual response time loses to one just heard from', async () => {
    const strategy = new LatencyAwareStrategy();
    const pair = [a, b];
    answered(strategy, a, 5);
    answered(strategy, b, 5);
    strategy.callStarted(a); // a call to a that gets no answer
    await new Promise((resolve) => setTimeout(resolve, 60));
    strategy.callStarted(b); // one to b, just started: b was heard from a moment ago
    // With both a call in flight, only a's silence (60 ms against 5) tells them apart.
    expect(strategy.score(a)).toBeGreaterThan(10 * strategy.score(b));
    expect(new Set(Array.from({ length: 20 }, () => strategy.pick(pair, svc)!.id))).toEqual(new Set(['b']));
    strategy.callFinished(a, 60); // it answered after all: heard, and its cost is that answer
    strategy.callFinished(b, 5);
    expect(strategy.score(a)).toBeGreaterThan(strategy.score(b));
  });

  it('rejects a decay that is not a positive number of ms', () => {
    expect(() => new LatencyAwareStrategy({ decayMs: 0 })).toThrow(DiscoveryOptionsError);
    expect(() => new LatencyAwareStrategy({ decayMs: 0 })).toThrow(
      'Invalid `decayMs` 0 for LatencyAwareStrategy: a number of milliseconds > 0 (default 10000).',
    );
  });

  it('returns the only endpoint, and undefined for none', () => {
    const strategy = new LatencyAwareStrategy();
    expect(strategy.pick([a], svc)).toBe(a);
    expect(strategy.pick([], svc)).toBeUndefined();
  });
});
