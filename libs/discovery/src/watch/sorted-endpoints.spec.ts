import { testEndpoint } from '@repo/testing';
import type { ServiceEndpoint } from '../service-endpoint.interface.js';
import { compareEndpoints, withChanges } from './sorted-endpoints.js';

/** Deterministic "random" numbers: the same cases on every run. */
function numbers(seed: number): () => number {
  let state = seed;
  return () => (state = (state * 1103515245 + 12345) % 2147483648) / 2147483648;
}

describe('withChanges (a sorted list updated by its changes)', () => {
  it.each([
    ['a few changes (a binary search and a move each)', 3],
    ['many changes (one merge)', 200],
  ])('equals a full sort of the result, for %s', (_case, changes) => {
    const random = numbers(changes);
    for (let round = 0; round < 50; round += 1) {
      // Ids from a small pool, so that equal ids (and equal id and address) occur.
      const make = () =>
        testEndpoint('svc', `i${Math.floor(random() * 40)}`, 1000 + Math.floor(random() * 3), {
          weight: Math.floor(random() * 3),
        });
      const list = Array.from({ length: 300 }, make).sort(compareEndpoints);
      const removed = list.filter(() => random() < changes / 600).slice(0, changes);
      const added = Array.from({ length: changes - removed.length }, make);
      const frozen = Object.freeze([...list]);
      const next = withChanges(frozen, removed, added);
      const expected = [...list.filter((endpoint) => !removed.includes(endpoint)), ...added].sort(compareEndpoints);
      expect(next.map(describeEndpoint)).toEqual(expected.map(describeEndpoint));
      expect(new Set(next).size).toBe(next.length);
      expect(removed.every((endpoint) => !next.includes(endpoint))).toBe(true);
    }
  });

  it('orders equal ids and addresses by the rest, so that the order never depends on history', () => {
    const light = testEndpoint('svc', 'same', 1, { weight: 1 });
    const heavy = testEndpoint('svc', 'same', 1, { weight: 2 });
    expect(withChanges([], [], [heavy, light])).toEqual([light, heavy]);
    expect(withChanges(withChanges([], [], [heavy]), [], [light])).toEqual([light, heavy]);
  });
});

function describeEndpoint(endpoint: ServiceEndpoint): string {
  return `${endpoint.id}@${endpoint.address}/${endpoint.weight}`;
}
