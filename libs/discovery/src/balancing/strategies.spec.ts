import { scripted } from '@repo/testing';
import { endpointList as endpoints } from '@repo/testing/endpoints';
import { DiscoveryOptionsError } from '../errors.js';
import { ConsistentHashStrategy } from './consistent-hash.strategy.js';
import { LeastOutstandingStrategy } from './least-outstanding.strategy.js';
import { RandomStrategy } from './random.strategy.js';
import { RoundRobinStrategy } from './round-robin.strategy.js';
import { WeightedRoundRobinStrategy } from './weighted-round-robin.strategy.js';

const svc = { service: 'svc' };
const ids = (picked: ({ id: string } | undefined)[]) => picked.map((endpoint) => endpoint?.id).join(' ');
type Endpoint = ReturnType<typeof endpoints>[number];
type Picker = { pick(list: readonly Endpoint[], context: { service: string }): { id: string } | undefined };
const pickMany = (strategy: Picker, list: readonly Endpoint[], times: number, service = 'svc') =>
  Array.from({ length: times }, () => strategy.pick(list, { service }));

describe('RoundRobinStrategy', () => {
  it('rotates exactly, per service', () => {
    const strategy = new RoundRobinStrategy();
    const list = endpoints(['a', 'b', 'c']);
    expect(ids(pickMany(strategy, list, 7))).toBe('a b c a b c a');
    expect(ids(pickMany(strategy, list, 2, 'other'))).toBe('a b');
    expect(ids(pickMany(strategy, list, 2))).toBe('b c');
  });

  it('goes on from where it was when the list changes, and returns undefined for none', () => {
    const strategy = new RoundRobinStrategy();
    expect(ids(pickMany(strategy, endpoints(['a', 'b', 'c']), 2))).toBe('a b');
    expect(ids(pickMany(strategy, endpoints(['a', 'c']), 3))).toBe('a c a');
    expect(strategy.pick([], { service: 'svc' })).toBeUndefined();
  });
});

describe('RandomStrategy', () => {
  it('maps an even source to exactly even picks', () => {
    const strategy = new RandomStrategy(evenGrid(3000));
    const counts = new Map<string, number>();
    for (const endpoint of pickMany(strategy, endpoints(['a', 'b', 'c']), 3000)) {
      counts.set(endpoint!.id, (counts.get(endpoint!.id) ?? 0) + 1);
    }
    expect(Object.fromEntries(counts)).toEqual({ a: 1000, b: 1000, c: 1000 });
  });

  it('stays in range at the edges of the source', () => {
    const list = endpoints(['a', 'b']);
    expect(new RandomStrategy(() => 0).pick(list)?.id).toBe('a');
    expect(new RandomStrategy(() => 0.9999999999).pick(list)?.id).toBe('b');
    expect(new RandomStrategy(() => 0.5).pick([])).toBeUndefined();
  });
});

describe('WeightedRoundRobinStrategy (smooth: earliest deadline first)', () => {
  it('interleaves 5:1:1 with exactly 5, 1 and 1 in every period of 7, the heavy one never in a burst of five', () => {
    const strategy = new WeightedRoundRobinStrategy();
    const list = endpoints(['a', 'b', 'c'], { a: 5, b: 1, c: 1 });
    const sequence = ids(pickMany(strategy, list, 70));
    // The same in every process: each endpoint's turns fall where its id says.
    expect(sequence.slice(0, 27)).toBe('a a c a b a a a a c a b a a');
    for (let period = 0; period < 10; period += 1) {
      const picks = sequence.split(' ').slice(period * 7, period * 7 + 7);
      expect([
        picks.filter((id) => id === 'a').length,
        picks.filter((id) => id === 'b').length,
        picks.filter((id) => id === 'c').length,
      ]).toEqual([5, 1, 1]);
    }
    expect(sequence).not.toMatch(/a a a a a/);
  });

  it('gives each endpoint exactly its share, and never picks weight 0', () => {
    const strategy = new WeightedRoundRobinStrategy();
    const list = endpoints(['a', 'b', 'c', 'z'], { a: 3, b: 2, c: 1, z: 0 });
    const counts = new Map<string, number>();
    for (const endpoint of pickMany(strategy, list, 600)) counts.set(endpoint!.id, (counts.get(endpoint!.id) ?? 0) + 1);
    expect(Object.fromEntries(counts)).toEqual({ a: 300, b: 200, c: 100 });
  });

  it('keeps every endpoint within two picks of its exact share after any number of picks', () => {
    const weights = Object.fromEntries(Array.from({ length: 40 }, (_, index) => [`e${index}`, 1 + ((index * 7) % 5)]));
    const list = endpoints(Object.keys(weights), weights);
    const total = Object.values(weights).reduce((sum, weight) => sum + weight, 0);
    const strategy = new WeightedRoundRobinStrategy();
    const counts = new Map<string, number>();
    let worst = 0;
    for (let pick = 1; pick <= 5000; pick += 1) {
      const id = strategy.pick(list, { service: 'svc' })!.id;
      counts.set(id, (counts.get(id) ?? 0) + 1);
      for (const [name, weight] of Object.entries(weights))
        worst = Math.max(worst, Math.abs((counts.get(name) ?? 0) - (pick * weight) / total));
    }
    expect(worst).toBeLessThan(2);
  });

  it('returns undefined when every weight is 0', () => {
    expect(new WeightedRoundRobinStrategy().pick(endpoints(['a'], { a: 0 }), { service: 'svc' })).toBeUndefined();
  });

  it("keeps each endpoint's place when the list is replaced: the same sequence as with the list unchanged", () => {
    const list = endpoints(['a', 'b', 'c'], { a: 3, b: 2, c: 1 });
    const steady = ids(pickMany(new WeightedRoundRobinStrategy(), list, 30));
    const replacing = new WeightedRoundRobinStrategy();
    const picked = Array.from({ length: 30 }, () => replacing.pick([...list], { service: 'svc' }));
    expect(ids(picked)).toBe(steady);
  });

  it('gives an endpoint that joins its share from then on, without starving the others', () => {
    const strategy = new WeightedRoundRobinStrategy();
    const [a, b] = endpoints(['a', 'b']);
    pickMany(strategy, [a, b], 11);
    const c = endpoints(['c'])[0];
    const counts = new Map<string, number>();
    for (const endpoint of pickMany(strategy, [a, b, c], 300))
      counts.set(endpoint!.id, (counts.get(endpoint!.id) ?? 0) + 1);
    expect(Object.fromEntries(counts)).toEqual({ a: 100, b: 100, c: 100 });
  });
});

describe('ConsistentHashStrategy', () => {
  const keys = Array.from({ length: 10_000 }, (_, index) => `user-${index}`);
  const ten = endpoints(['e0', 'e1', 'e2', 'e3', 'e4', 'e5', 'e6', 'e7', 'e8', 'e9']);
  const owners = (strategy: ConsistentHashStrategy, list: typeof ten) =>
    keys.map((key) => strategy.pick(list, { service: 'svc', key })!.id);

  it('sends a key to the same endpoint every time, in every process', () => {
    expect(owners(new ConsistentHashStrategy(), ten)).toEqual(owners(new ConsistentHashStrategy(), [...ten]));
  });

  it('when 1 of 10 endpoints leaves, moves only the keys it had (about 1/10 of 10,000)', () => {
    const strategy = new ConsistentHashStrategy();
    const before = owners(strategy, ten);
    const after = owners(
      strategy,
      ten.filter((endpoint) => endpoint.id !== 'e3'),
    );
    const moved = keys.filter((_, index) => before[index] !== after[index]).length;
    const hadE3 = before.filter((owner) => owner === 'e3').length;
    // Exactly the departed endpoint's keys move, none of the others'.
    expect(moved).toBe(hadE3);
    // …and its share is close to 1/10: 160 points per endpoint spread the ring evenly.
    expect(hadE3 / keys.length).toBeGreaterThan(0.07);
    expect(hadE3 / keys.length).toBeLessThan(0.13);
  });

  it('when an endpoint joins, moves keys only to it', () => {
    const strategy = new ConsistentHashStrategy();
    const before = owners(strategy, ten);
    const after = owners(strategy, [...ten, ...endpoints(['e10'])]);
    const destinations = new Set(
      keys.filter((_, index) => before[index] !== after[index]).map((_, index) => after[index]),
    );
    const movedTo = new Set(after.filter((owner, index) => owner !== before[index]));
    expect(destinations.size).toBeGreaterThan(0);
    expect([...movedTo]).toEqual(['e10']);
  });

  it('spreads 10,000 keys over 10 endpoints with no endpoint above 1.3× its fair share', () => {
    const counts = new Map<string, number>();
    for (const owner of owners(new ConsistentHashStrategy(), ten)) counts.set(owner, (counts.get(owner) ?? 0) + 1);
    expect(counts.size).toBe(10);
    expect(Math.max(...counts.values())).toBeLessThan(1300);
  });

  it('refuses to pick without a key, with a clear error', () => {
    const pick = () => new ConsistentHashStrategy().pick(ten, { service: 'carts' });
    expect(pick).toThrow(DiscoveryOptionsError);
    expect(pick).toThrow(
      /ConsistentHashStrategy needs a key to pick an endpoint of "carts": call pick\("carts", key\)/,
    );
    expect(() => new ConsistentHashStrategy(0)).toThrow(/virtual nodes 0/);
  });
});

describe('LeastOutstandingStrategy (power of two choices)', () => {
  const list = endpoints(['a', 'b', 'c']);

  it('takes the one of two random endpoints with fewer calls in flight', () => {
    // Draws: first index floor(0.1·3) = 0 (a), second floor(0.9·2) = 1 → skips a → 2 (c).
    const strategy = new LeastOutstandingStrategy(scripted([0.1, 0.9, 0.1, 0.9]));
    strategy.callStarted(list[0]);
    expect(strategy.pick(list, svc)?.id).toBe('c');
    strategy.callFinished(list[0]);
    strategy.callStarted(list[2]);
    strategy.callStarted(list[2]);
    expect(strategy.pick(list, svc)?.id).toBe('a');
    expect(strategy.outstanding(list[2])).toBe(2);
  });

  it('takes the first drawn on a tie, and never draws the same endpoint twice', () => {
    const strategy = new LeastOutstandingStrategy(scripted([0.5, 0.2]));
    // first: floor(0.5·3) = 1 (b); second: floor(0.2·2) = 0 (a), distinct from b; tie → b.
    expect(strategy.pick(list, svc)?.id).toBe('b');
  });

  it('under a steady load keeps the in-flight counts level', () => {
    const strategy = new LeastOutstandingStrategy(evenGrid(97));
    for (let call = 0; call < 300; call += 1) strategy.callStarted(strategy.pick(list, svc)!);
    expect(list.map((endpoint) => strategy.outstanding(endpoint))).toEqual([100, 100, 100]);
  });

  it('returns the only endpoint, or undefined for none', () => {
    expect(new LeastOutstandingStrategy().pick(endpoints(['solo']), svc)?.id).toBe('solo');
    expect(new LeastOutstandingStrategy().pick([], svc)).toBeUndefined();
  });
});

/** A "random" source that walks a grid evenly: n calls cover [0, 1) in n equal steps. */
function evenGrid(n: number): () => number {
  let index = 0;
  return () => ((index++ % n) + 0.5) / n;
}
