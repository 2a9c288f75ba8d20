import type { PickContext } from '../balancing/load-balancing-strategy.js';
import type { ServiceEndpoint } from '../service-endpoint.interface.js';

/** The context a strategy is given for one version's group (its `key` is set per pick). */
export type GroupContext = { -readonly [field in keyof PickContext]: PickContext[field] };

/** A list of candidates split by version: the candidates of each named version, in the order of `versions`. */
interface VersionGroups {
  groups: (readonly ServiceEndpoint[])[];
  /** No named version has a candidate: the split steps aside. */
  none: boolean;
}

/**
 * A policy's split of calls by version, deterministic and smooth: each pick, every version with candidates gains its
 * weight in credit, the richest is chosen and pays the total of those present (nginx's smooth weighted round robin).
 * Over any run of picks each version's share is within one pick of its weight, so apps together split as exactly as
 * one. A named version with no candidate gives its share to the others; versions not named get none, unless no named
 * version has a candidate — then the split steps aside and every candidate may be picked. Groups are made once per
 * list of candidates; a pick allocates nothing. Each version is picked from with a context of its own (`group`), so
 * that the strategy keeps a rotation per version.
 */
export class VersionSplit {
  private readonly versions: string[];
  private readonly weights: number[];
  /** Credit per version, kept across lists so that a changing list does not restart the sequence. */
  private readonly credit: number[];
  private readonly byList = new WeakMap<readonly ServiceEndpoint[], VersionGroups>();
  /** The list last split and its groups, read before the map. */
  private lastList: readonly ServiceEndpoint[] | undefined;
  private lastSplit: VersionGroups | undefined;
  /** The context of each version's picks, by version index (the strategy keeps its state per group). */
  private readonly contexts: GroupContext[];
  /** The context of the group the last pick chose; undefined when the split stepped aside. */
  chosen: GroupContext | undefined;
  /** What was last told of missing versions, so that it is told once per change. */
  private lastMissing = '/false';

  constructor(
    service: string,
    weights: Readonly<Record<string, number>>,
    /** Told when the versions that have no candidate change (`[]`: every named version has some again). */
    private readonly onMissing: (missing: string[], stepsAside: boolean) => void = () => undefined,
  ) {
    const named = Object.entries(weights).filter(([, weight]) => weight > 0);
    this.versions = named.map(([version]) => version);
    this.weights = named.map(([, weight]) => weight);
    this.credit = named.map(() => 0);
    this.contexts = this.versions.map((version) => ({ service, key: undefined, group: `${service}@${version}` }));
  }

  /** The candidates of the version whose turn it is (all of them when the split steps aside). */
  pick(candidates: readonly ServiceEndpoint[]): readonly ServiceEndpoint[] {
    let split = candidates === this.lastList ? this.lastSplit : this.byList.get(candidates);
    if (split === undefined) {
      split = this.groupsOf(candidates);
      this.byList.set(candidates, split);
    }
    this.lastList = candidates;
    this.lastSplit = split;
    if (split.none) {
      this.chosen = undefined;
      return candidates;
    }
    const { groups } = split;
    let total = 0;
    let best = -1;
    for (let index = 0; index < groups.length; index++) {
      if (groups[index].length === 0) continue;
      const weight = this.weights[index];
      total += weight;
      this.credit[index] += weight;
      if (best < 0 || this.credit[index] > this.credit[best]) best = index;
    }
    this.credit[best] -= total;
    this.chosen = this.contexts[best];
    return groups[best];
  }

  private groupsOf(candidates: readonly ServiceEndpoint[]): VersionGroups {
    const groups: ServiceEndpoint[][] = this.versions.map(() => []);
    for (const endpoint of candidates) {
      const index = endpoint.version === undefined ? -1 : this.versions.indexOf(endpoint.version);
      if (index >= 0) groups[index].push(endpoint);
    }
    const missing = this.versions.filter((_version, index) => groups[index].length === 0);
    const none = missing.length === this.versions.length;
    const told = `${missing.join(',')}/${none}`;
    if (told !== this.lastMissing) {
      this.lastMissing = told;
      this.onMissing(missing, none);
    }
    return { groups, none };
  }
}
