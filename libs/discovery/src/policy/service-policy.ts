import type { ServiceEndpoint } from '../service-endpoint.interface.js';
import type { PolicyCalls, TrafficPolicy } from './traffic-policy.interface.js';
import { VersionSplit } from './version-split.js';
import { drainAllowance } from './validate-traffic-policy.js';

/** What the policy in force says of instances now: the drained ids and the weights that replace registered ones. */
interface InstanceRules {
  drained: ReadonlySet<string>;
  weights: ReadonlyMap<string, number>;
  /** The policy's lists of candidates, by list they were made from. */
  views: WeakMap<readonly ServiceEndpoint[], readonly ServiceEndpoint[]>;
  /** The list last viewed and its view, read before the map. */
  lastList: readonly ServiceEndpoint[] | undefined;
  lastView: readonly ServiceEndpoint[];
}

const NONE_DRAINED: ReadonlySet<string> = new Set();

/** Told of what a policy could not do as written (a guard capped its drains, a split's version has no instance). */
export interface ServicePolicyEvents {
  drainsCapped(service: string, drained: number, allowed: number): void;
  versionsMissing(service: string, missing: string[], stepsAside: boolean): void;
}

/**
 * The traffic policy in force for one service in this app, as picks and calls read it: one object per service for
 * the app's life, given each new document whole. What picks read is made once per document (and per list) and read
 * without allocating; each override ends by itself at its `until`, even if etcd says nothing more.
 */
export class ServicePolicy {
  /** Nothing in force touches picks (no document, or only call settings): picks read the list as it is. */
  none = true;
  /** The document in force, and the revision of the policy watch it was applied at; undefined: none. */
  document: TrafficPolicy | undefined;
  revision: number | undefined;
  /** The call settings in force, over the app's own. */
  calls: PolicyCalls | undefined;
  split: VersionSplit | undefined;
  private rules: InstanceRules | undefined;
  private expiry: NodeJS.Timeout | undefined;
  /** When the expiry timer fires (ms since the epoch); Infinity: no timer. */
  private expiresAt = Infinity;
  /** Weighted copies of endpoints, by endpoint: one per endpoint and weight, for as long as the endpoint lives. */
  private readonly reweighted = new WeakMap<ServiceEndpoint, ServiceEndpoint>();

  constructor(
    readonly service: string,
    private readonly events: ServicePolicyEvents,
  ) {}

  /** Puts `document` in force (undefined: none, the app's own settings again). */
  enforce(document: TrafficPolicy | undefined, revision: number | undefined): void {
    this.document = document;
    this.revision = revision;
    this.calls = document?.calls;
    const weights = document?.split?.weights;
    this.split =
      weights === undefined
        ? undefined
        : new VersionSplit(this.service, weights, (missing, stepsAside) =>
            this.events.versionsMissing(this.service, missing, stepsAside),
          );
    this.applyOverrides();
  }

  /** What the policy leaves of `list`: drained ones out, weights replaced; `list` itself when none applies. */
  view(list: readonly ServiceEndpoint[]): readonly ServiceEndpoint[] {
    const rules = this.rules;
    if (rules === undefined) return list;
    if (rules.lastList === list) return rules.lastView; // the common case: the list has not changed since
    let view = rules.views.get(list);
    if (view === undefined) {
      view = this.viewOf(list, rules);
      rules.views.set(list, view);
    }
    rules.lastList = list;
    rules.lastView = view;
    return view;
  }

  /** The ids of the instances drained now (before the guard: the ones it keeps in are drained all the same). */
  get drainedIds(): ReadonlySet<string> {
    return this.rules?.drained ?? NONE_DRAINED;
  }

  /** Stops the expiry timer (at shutdown). */
  close(): void {
    clearTimeout(this.expiry);
    this.expiresAt = Infinity;
  }

  /** Derives the instance rules of the overrides not ended yet, and wakes up when the next one ends. */
  private applyOverrides(): void {
    const now = Date.now();
    const drained = new Set<string>();
    const weights = new Map<string, number>();
    let nextEnd = Infinity;
    for (const [id, override] of Object.entries(this.document?.instances ?? {})) {
      const end = Date.parse(override.until);
      if (end <= now) continue;
      nextEnd = Math.min(nextEnd, end);
      if (override.drained === true) drained.add(id);
      if (override.weight !== undefined) weights.set(id, override.weight);
    }
    const touchesInstances = drained.size > 0 || weights.size > 0;
    this.rules = touchesInstances
      ? { drained, weights, views: new WeakMap(), lastList: undefined, lastView: [] }
      : undefined;
    this.none = !touchesInstances && this.split === undefined;
    this.wakeAt(nextEnd, now);
  }

  /**
   * Sets the expiry timer for `end` (Infinity: none). Most new documents keep their overrides' ends, and every app
   * applies each document: the timer is left as it is then.
   */
  private wakeAt(end: number, now: number): void {
    if (end === this.expiresAt) return;
    clearTimeout(this.expiry);
    this.expiresAt = end;
    if (end === Infinity) return;
    // setTimeout holds at most 2^31-1 ms (~24.8 days); overrides end within 7 days.
    this.expiry = setTimeout(
      () => {
        this.expiresAt = Infinity;
        this.applyOverrides();
      },
      end - now + 1,
    );
    this.expiry.unref();
  }

  private viewOf(list: readonly ServiceEndpoint[], rules: InstanceRules): readonly ServiceEndpoint[] {
    const allowed = drainAllowance(this.document!, list.length);
    let drained = 0;
    let capped = 0;
    const view: ServiceEndpoint[] = [];
    for (const endpoint of list) {
      if (rules.drained.has(endpoint.id)) {
        if (drained < allowed) {
          drained++;
          continue;
        }
        capped++;
      }
      const weight = rules.weights.get(endpoint.id);
      view.push(weight === undefined || weight === endpoint.weight ? endpoint : this.withWeight(endpoint, weight));
    }
    if (capped > 0) this.events.drainsCapped(this.service, drained + capped, allowed);
    return view;
  }

  /** A copy of `endpoint` with another weight, the same object for as long as that weight stays. */
  private withWeight(endpoint: ServiceEndpoint, weight: number): ServiceEndpoint {
    const known = this.reweighted.get(endpoint);
    if (known?.weight === weight) return known;
    const copy = { ...endpoint, weight };
    this.reweighted.set(endpoint, copy);
    return copy;
  }
}
