import type { ServiceEndpoint } from '../service-endpoint.interface.js';
import { VersionSplit } from './version-split.js';

const endpoint = (id: string, version?: string): ServiceEndpoint => ({
  service: 's',
  id,
  host: '127.0.0.1',
  port: 1,
  address: `127.0.0.1:${id}`,
  metadata: {},
  weight: 1,
  version,
});

function shares(split: VersionSplit, list: readonly ServiceEndpoint[], picks: number): Record<string, number> {
  const counts: Record<string, number> = {};
  for (let pick = 0; pick < picks; pick++) {
    const version = split.pick(list)[0].version ?? '(none)';
    counts[version] = (counts[version] ?? 0) + 1;
  }
  return counts;
}

describe('VersionSplit', () => {
  const list = [endpoint('1', 'v1'), endpoint('2', 'v1'), endpoint('3', 'v2')];

  it('splits exactly, smoothly: 90/10 gives v2 one pick in every 10, each run of 10 alike', () => {
    const split = new VersionSplit('s', { v1: 90, v2: 10 });
    expect(shares(split, list, 10_000)).toEqual({ v1: 9_000, v2: 1_000 });
    const runOfTen = () => Array.from({ length: 10 }, () => split.pick(list)[0].version).join(',');
    expect(runOfTen()).toBe(runOfTen());
    expect(runOfTen().split('v2')).toHaveLength(2);
  });

  it('gives the whole group of the chosen version, for the strategy to pick from', () => {
    const split = new VersionSplit('s', { v1: 1, v2: 0 });
    expect(split.pick(list)).toEqual([list[0], list[1]]);
  });

  it("gives a missing version's share to the others, and says so once", () => {
    const told = vi.fn();
    const split = new VersionSplit('s', { v1: 50, v3: 50 }, told);
    expect(shares(split, list, 100)).toEqual({ v1: 100 });
    expect(told).toHaveBeenCalledTimes(1);
    expect(told).toHaveBeenCalledWith(['v3'], false);
  });

  it('steps aside when no named version has an instance: every candidate may be picked', () => {
    const told = vi.fn();
    const split = new VersionSplit('s', { v7: 1 }, told);
    expect(split.pick(list)).toBe(list);
    expect(told).toHaveBeenCalledWith(['v7'], true);
  });

  it('gives versions not named no share, and keeps its sequence across new lists', () => {
    const split = new VersionSplit('s', { v1: 3, v2: 1 });
    const withV3 = [...list, endpoint('4', 'v3')];
    const picks = [list, withV3, list, withV3, list, withV3, list, withV3].map((l) => split.pick(l)[0].version);
    expect(picks.filter((version) => version === 'v2')).toHaveLength(2);
    expect(picks).not.toContain('v3');
  });
});
