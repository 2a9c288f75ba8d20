import { instanceKey } from '../codec/instance-key.js';
import type { OutlierEjectionSettings } from '../options/behaviour-settings.interface.js';
import type { ServiceEndpoint } from '../service-endpoint.interface.js';

interface EndpointRecord {
  failures: number;
  /** Ejections since the last success: the next one lasts this many + 1 times `baseEjectionMs`. */
  ejections: number;
  /** While `now() < ejectedUntil` the endpoint is not picked. */
  ejectedUntil: number;
}

/**
 * Outlier ejection for one service, as Envoy does it: an endpoint that fails `consecutiveFailures`
 * calls in a row is not picked for `baseEjectionMs` × the times it was ejected, never more than
 * `maxEjectedPercent` of the service at once, and never the last pickable endpoint. It is listed all
 * the while (`endpoints$`), and picked again when its time is up; a success clears its record.
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
    if (this.now() >= this.nextExpiry) this.expire(list);
    if (this.ejected === 0) return list;
    if (list !== this.source) this.rebuild(list);
    return this.filtered;
  }

  /** A call to `endpoint` failed before any answer; `list` is the service's current list. Returns whether it is ejected now. */
  reportFailure(endpoint: ServiceEndpoint, list: readonly ServiceEndpoint[]): boolean {
    if (!this.settings) return false;
    const key = instanceKey(endpoint);
    const record = this.records.get(key) ?? { failures: 0, ejections: 0, ejectedUntil: 0 };
    this.records.set(key, record);
    record.failures += 1;
    const now = this.now();
    if (record.failures < this.settings.consecutiveFailures || record.ejectedUntil > now || !this.mayEject(list)) return false;
    record.failures = 0;
    record.ejections += 1;
    record.ejectedUntil = now + this.settings.baseEjectionMs * record.ejections;
    this.ejected += 1;
    this.nextExpiry = Math.min(this.nextExpiry, record.ejectedUntil);
    this.source = undefined;
    return true;
  }

  /** A call to `endpoint` was answered: its record is cleared (an ejection in course runs out). */
  reportSuccess(endpoint: ServiceEndpoint): void {
    const record = this.records.get(instanceKey(endpoint));
    if (record && record.ejectedUntil <= this.now()) this.records.delete(instanceKey(endpoint));
    else if (record) record.failures = 0;
  }

  private mayEject(list: readonly ServiceEndpoint[]): boolean {
    const settings = this.settings as OutlierEjectionSettings;
    const present = this.pickable(list).length;
    const allowed = Math.max(1, Math.floor((list.length * settings.maxEjectedPercent) / 100));
    return present > 1 && this.ejected < allowed;
  }

  /** Ends the ejections whose time is up, and forgets endpoints that left the list. */
  private expire(list: readonly ServiceEndpoint[]): void {
    const now = this.now();
    const present = new Set(list.map(instanceKey));
    this.ejected = 0;
    this.nextExpiry = Infinity;
    for (const [key, record] of this.records) {
      if (!present.has(key)) this.records.delete(key);
      else if (record.ejectedUntil > now) {
        this.ejected += 1;
        this.nextExpiry = Math.min(this.nextExpiry, record.ejectedUntil);
      }
    }
    this.source = undefined;
  }

  private rebuild(list: readonly ServiceEndpoint[]): void {
    const now = this.now();
    this.filtered = list.filter((endpoint) => (this.records.get(instanceKey(endpoint))?.ejectedUntil ?? 0) <= now);
    this.source = list;
  }
}
