import { endpointList } from '@repo/testing';
import { ServiceOutliers } from './outlier-ejection.js';

const settings = { consecutiveFailures: 3, baseEjectionMs: 10_000, maxEjectedPercent: 50 };

function outliersAt(clock: { now: number }, given: typeof settings | false = settings) {
  return new ServiceOutliers(given, () => clock.now);
}

const ids = (list: readonly { id: string }[]) => list.map((endpoint) => endpoint.id);

describe('ServiceOutliers', () => {
  it('ejects after 3 failures in a row, for baseEjectionMs × the times it was ejected; a success starts over', () => {
    const clock = { now: 0 };
    const outliers = outliersAt(clock);
    const list = endpointList(['a', 'b', 'c']);
    const [a] = list;
    expect(outliers.pickable(list)).toBe(list); // nothing ejected: the same array
    expect([outliers.reportFailure(a, list), outliers.reportFailure(a, list)]).toEqual([false, false]);
    outliers.reportSuccess(a);
    expect(outliers.reportFailure(a, list)).toBe(false); // the count started over
    outliers.reportFailure(a, list);
    expect(outliers.reportFailure(a, list)).toBe(true);
    expect(ids(outliers.pickable(list))).toEqual(['b', 'c']);
    expect(outliers.pickable(list)).toBe(outliers.pickable(list)); // built once per change, not per pick
    clock.now = 9_999;
    expect(ids(outliers.pickable(list))).toEqual(['b', 'c']);
    clock.now = 10_000;
    expect(outliers.pickable(list)).toBe(list);
    // Failing again at once: ejected twice as long.
    for (let i = 0; i < 3; i += 1) outliers.reportFailure(a, list);
    clock.now = 10_000 + 19_999;
    expect(ids(outliers.pickable(list))).toEqual(['b', 'c']);
    clock.now = 30_000;
    expect(outliers.pickable(list)).toBe(list);
  });

  it('ejects at most maxEjectedPercent of a service (at least one), never the last pickable endpoint', () => {
    const clock = { now: 0 };
    const outliers = outliersAt(clock);
    const list = endpointList(['a', 'b', 'c', 'd']);
    const fail = (id: string) => {
      const endpoint = list.find((candidate) => candidate.id === id)!;
      let ejected = false;
      for (let i = 0; i < 3; i += 1) ejected = outliers.reportFailure(endpoint, list);
      return ejected;
    };
    expect([fail('a'), fail('b'), fail('c')]).toEqual([true, true, false]); // 50 % of 4
    expect(ids(outliers.pickable(list))).toEqual(['c', 'd']);

    const pair = endpointList(['x', 'y']);
    const two = outliersAt(clock);
    for (let i = 0; i < 3; i += 1) two.reportFailure(pair[0], pair);
    for (let i = 0; i < 3; i += 1) two.reportFailure(pair[1], pair);
    expect(ids(two.pickable(pair))).toEqual(['y']); // the last one stays

    const single = endpointList(['only']);
    const one = outliersAt(clock);
    for (let i = 0; i < 5; i += 1) expect(one.reportFailure(single[0], single)).toBe(false);
  });

  it('follows the list: a new list is filtered too, and an endpoint that left is forgotten when its time is up', () => {
    const clock = { now: 0 };
    const outliers = outliersAt(clock);
    const list = endpointList(['a', 'b', 'c']);
    for (let i = 0; i < 3; i += 1) outliers.reportFailure(list[0], list);
    const grown = [...list, ...endpointList(['d'])];
    expect(ids(outliers.pickable(grown))).toEqual(['b', 'c', 'd']);
    const without = list.slice(1);
    clock.now = 10_000;
    expect(outliers.pickable(without)).toBe(without);
    expect(outliers.pickable(list)).toBe(list); // a is forgotten: back with the list, not ejected
  });

  it('never leaves none: when the others leave, the ejected ones are picked; one that answers is back at once', () => {
    const clock = { now: 0 };
    const outliers = outliersAt(clock);
    const list = endpointList(['a', 'b']);
    const [a, b] = list;
    for (let i = 0; i < 3; i += 1) outliers.reportFailure(a, list);
    expect(ids(outliers.pickable(list))).toEqual(['b']);
    const onlyA = [a]; // b left the list (its lease ran out) while a is ejected
    expect(outliers.pickable(onlyA)).toBe(onlyA);

    // b back, a still ejected; b fails and cannot be ejected (50 % of 2 is taken), then a answers.
    for (let i = 0; i < 3; i += 1) expect(outliers.reportFailure(b, list)).toBe(false);
    outliers.reportSuccess(a);
    expect(outliers.pickable(list)).toBe(list);
    expect(outliers.reportFailure(b, list)).toBe(true); // now b, which kept failing, goes out
    expect(ids(outliers.pickable(list))).toEqual(['a']);
    // a's earlier ejection still counts: failing again, it is out for twice as long.
    clock.now = 10_000;
    outliers.reportSuccess(b);
    for (let i = 0; i < 3; i += 1) outliers.reportFailure(a, list);
    clock.now = 10_000 + 19_999;
    expect(ids(outliers.pickable(list))).toEqual(['b']);
  });

  it('an ejected endpoint that left the list holds no place of maxEjectedPercent', () => {
    const outliers = outliersAt({ now: 0 });
    const list = endpointList(['a', 'b', 'c']);
    for (let i = 0; i < 3; i += 1) outliers.reportFailure(list[0], list); // a out: 1 of 3 (50 % allows 1)
    const withoutA = list.slice(1); // a stopped and left
    const [b] = withoutA;
    for (let i = 0; i < 2; i += 1) outliers.reportFailure(b, withoutA);
    expect(outliers.reportFailure(b, withoutA)).toBe(true); // b dies too: ejected, a no longer counts
    expect(ids(outliers.pickable(withoutA))).toEqual(['c']);
  });

  it('does nothing when turned off', () => {
    const outliers = outliersAt({ now: 0 }, false);
    const list = endpointList(['a', 'b']);
    for (let i = 0; i < 10; i += 1) expect(outliers.reportFailure(list[0], list)).toBe(false);
    expect(outliers.pickable(list)).toBe(list);
  });
});

describe('holdOut: an instance that asked to be left alone (503 with Retry-After)', () => {
  it('is not picked for that long, even with ejection off, but never as the last one', () => {
    const clock = { now: 0 };
    const outliers = new ServiceOutliers(false, () => clock.now);
    const list = endpointList(['a', 'b']);
    outliers.holdOut(list[0], list, 2000);
    expect(ids(outliers.pickable(list))).toEqual(['b']);
    outliers.holdOut(list[1], list, 2000); // the last pickable one: kept
    expect(ids(outliers.pickable(list))).toEqual(['b']);
    clock.now = 2000;
    expect(ids(outliers.pickable(list))).toEqual(['a', 'b']);
  });
});
