import { testEndpoint } from '@repo/testing';
import type { ServiceEndpoint } from '../service-endpoint.interface.js';
import { hash32 } from './hash.js';
import { HashRing, pointsPerEndpoint } from './hash-ring.js';

const keys = Array.from({ length: 3000 }, (_, index) => hash32(`user-${index}`));
const owners = (ring: HashRing) => keys.map((hash) => ring.lookup(hash)?.id ?? '-').join();

describe('HashRing', () => {
  it('updated by what joined and left, answers exactly as a ring built from scratch', () => {
    let state = 7;
    const random = () => (state = (state * 1103515245 + 12345) % 2147483648) / 2147483648;
    let list: ServiceEndpoint[] = Array.from({ length: 30 }, (_, index) =>
      testEndpoint('svc', `e${index}`, 1000 + index),
    );
    let ring = HashRing.build(list, 40);
    for (let round = 0; round < 60; round += 1) {
      const kept = list.filter(() => random() > 0.1);
      const joined = Array.from({ length: Math.floor(random() * 4) }, () =>
        testEndpoint('svc', `e${Math.floor(random() * 60)}`, 2000 + round),
      );
      // Joiners with an id already there replace it (an update): one place per id, as in a fresh build.
      const byId = new Map([...kept, ...joined].map((endpoint) => [endpoint.id, endpoint]));
      list = [...byId.values()].sort((a, b) => (a.id < b.id ? -1 : 1));
      ring = ring.update(list, 40);
      expect(owners(ring)).toBe(owners(HashRing.build(list, 40)));
    }
  });

  it('hands the current object of an endpoint that was updated in place (same id)', () => {
    const before = testEndpoint('svc', 'a', 1, { version: '1' });
    const after = testEndpoint('svc', 'a', 1, { version: '2' });
    const ring = HashRing.build([before], 160).update([after], 160);
    expect(ring.lookup(12345)).toBe(after);
  });

  it('gives each endpoint `virtualNodes` points, fewer past 2²¹ in all, and never none', () => {
    expect([
      pointsPerEndpoint(0, 160),
      pointsPerEndpoint(10, 160),
      pointsPerEndpoint(13_107, 160),
      pointsPerEndpoint(13_108, 160),
    ]).toEqual([0, 160, 160, 159]);
    expect([pointsPerEndpoint(100_000, 160), pointsPerEndpoint(3_000_000, 160)]).toEqual([20, 1]);
  });

  it('rebuilds whole, still exact, when the number of points per endpoint changes', () => {
    const big = Array.from({ length: 13_107 }, (_, index) =>
      testEndpoint('svc', `e${String(index).padStart(5, '0')}`, 1),
    );
    const ring = HashRing.build(big, 160);
    const grown = [...big, testEndpoint('svc', 'zz', 2)];
    expect(owners(ring.update(grown, 160))).toBe(owners(HashRing.build(grown, 160)));
  });
});
