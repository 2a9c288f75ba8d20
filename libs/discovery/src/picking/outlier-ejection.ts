import { instanceKey } from '../codec/instance-key.js';
import type { OutlierEjectionSettings } from '../options/behaviour-settings.interface.js';
import type { ServiceEndpoint } from '../service-endpoint.interface.js';

interface EndpointRecord {
  failures: number;
  /** Ejections since the last success: the next one lasts this many + 1 times `baseEjectionMs`. */
  ejections: number;
  /** While `now() < ejectedUntil` the endpoint is not picked. */
  ejectedUntil: number;
  /** The last refresh that found it in the list. */
  seen: number;
}

/**
 * Outlier ejection for one service, as Envoy does it: an endpoint that fails `consecutiveFailures`
 * calls in a row is not picked for `baseEjectionMs` × the times it was ejected, never more than
 * `maxEjectedPercent` of the service at once, and never the last pickable endpoint (nor all that
 * remain when the others leave the list). It is listed all the while (`endpoints$`), and picked
 * again when its time is up or when it answers a call that tried every other endpoint.
 *
 * `pickable()` runs on every pick: with nothing ejected it returns the list it is given, and reads
 * the clock only while something is ejected.
 */
export class ServiceOutliers {
  private readonly records = new Map<string, EndpointRecord>();
  private ejected = 0;
  private nextExpiry = Infinity;
  private source: readonly ServiceEndpoint[] | undefined;
  private filtered: readonly ServiceEndpoint[] = [];
  private passes = 0;

  constructor(
    private readonly settings: OutlierEjectionSettings | false,
    private readonly now: () => number = Date.now,
  ) {}

  /** Nothing is ejected: `pickable()` would return its list. */
  get none(): boolean {
    return this.ejected === 0;
  }

  /** `list` without the endpoints ejected now: the same array when none is. */
  pickable(list: readonly ServiceEndpoint[]): readonly ServiceEndpoint[] {
    if (this.ejected === 0) return list;
    // A new list, or an ejection ran out: count again what is ejected among those listed now (one
    // that left must not hold a place of `maxEjectedPercent`), then filter.
    if (list !== this.source || this.now() >= this.nextExpiry) this.refresh(list);
    return this.ejected === 0 ? list : this.filtered;
  }

  /**
   * A call to `endpoint` failed before any answer; `list` is the service's current list. Returns whether it is ejected
   * now.
   */
  reportFailure(endpoint: ServiceEndpoint, list: readonly ServiceEndpoint[]): boolean {
    if (!this.settings) return false;
    const key = instanceKey(endpoint);
    const record = this.records.get(key) ?? { failures: 0, ejections: 0, ejectedUntil: 0, seen: 0 };
    this.records.set(key, record);
    record.failures += 1;
    const now = this.now();
    if (record.failures < this.settings.consecutiveFailures || record.ejectedUntil > now || !this.mayEject(list))
      return false;
    record.failures = 0;
    record.ejections += 1;
    record.ejectedUntil = now + this.settings.baseEjectionMs * record.ejections;
    this.ejected += 1;
    this.nextExpiry = Math.min(this.nextExpiry, record.ejectedUntil);
    this.source = undefined;
    return true;
  }

  /**
   * `endpoint` asked its callers to come back in `ms` (an HTTP 503 with Retry-After): it is not
   * picked until then — whether outlier ejection is on or not, it is the instance's own wish — unless
   * it is the last pickable endpoint.
   */
  holdOut(endpoint: ServiceEndpoint, list: readonly ServiceEndpoint[], ms: number): void {
    if (this.pickable(list).length <= 1) return;
    const key = instanceKey(endpoint);
    const record = this.records.get(key) ?? { failures: 0, ejections: 0, ejectedUntil: 0, seen: 0 };
    this.records.set(key, record);
    const now = this.now();
    if (record.ejectedUntil <= now) this.ejected += 1;
    record.ejectedUntil = Math.max(record.ejectedUntil, now + ms);
    this.nextExpiry = Math.min(this.nextExpiry, record.ejectedUntil);
    this.source = undefined;
  }

  /**
   * A call to `endpoint` was answered: its record is cleared. An ejected endpoint is picked only
   * when a call has tried every other one; an answer from it then ends its ejection at once (it is
   * alive, and may be the one endpoint that answers), keeping its count so that another ejection
   * lasts longer.
   */
  reportSuccess(endpoint: ServiceEndpoint): void {
    // no endpoint of the service failed lately: the common case, without building a key
    if (this.records.size === 0) return;
    const key = instanceKey(endpoint);
    const record = this.records.get(key);
    if (record === undefined) return;
    if (record.ejectedUntil <= this.now()) {
      this.records.delete(key);
      return;
    }
    record.failures = 0;
    record.ejectedUntil = 0;
    this.ejected -= 1;
    this.source = undefined;
  }

  /** Until when `endpoint` is not picked (ms since the epoch), while it is ejected or holding out. */
  ejectedUntil(endpoint: ServiceEndpoint): number | undefined {
    const until = this.records.size === 0 ? undefined : this.records.get(instanceKey(endpoint))?.ejectedUntil;
    return until !== undefined && until > this.now() ? until : undefined;
  }

  private mayEject(list: readonly ServiceEndpoint[]): boolean {
    const settings = this.settings as OutlierEjectionSettings;
    const present = this.pickable(list).length;
    const allowed = Math.max(1, Math.floor((list.length * settings.maxEjectedPercent) / 100));
    return present > 1 && this.ejected < allowed;
  }

  /** Ends the ejections whose time is up, forgets endpoints that left the list, and filters it. */
  private refresh(list: readonly ServiceEndpoint[]): void {
    // One pass over the list, one key per endpoint (as filtering alone costs): a service of
    // 10,000 endpoints that changes while one is ejected pays no second pass or set per change.
    const now = this.now();
    const pass = ++this.passes;
    this.ejected = 0;
    this.nextExpiry = Infinity;
    const filtered: ServiceEndpoint[] = [];
    for (const endpoint of list) {
      const record = this.records.get(instanceKey(endpoint));
      if (record !== undefined) {
        record.seen = pass;
        if (record.ejectedUntil > now) {
          this.ejected += 1;
          this.nextExpiry = Math.min(this.nextExpiry, record.ejectedUntil);
          continue;
        }
      }
      filtered.push(endpoint);
    }
    for (const [key, record] of this.records) if (record.seen !== pass) this.records.delete(key);
    // The others left the list while these were ejected: better an ejected endpoint than none.
    this.filtered = filtered.length > 0 ? filtered : list;
    this.source = list;
  }
}
