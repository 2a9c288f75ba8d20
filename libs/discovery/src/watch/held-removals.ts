import type { LoggerService } from '@nestjs/common';
import type { SelfPreservationSettings } from '../options/behaviour-settings.interface.js';
import type { ServiceEndpoint } from '../service-endpoint.interface.js';

export interface HeldRemovalsListener {
  /** List the service again: the hold wants its confirmation. */
  relist(): void;
  /** These held endpoints are gone for good: take them out of the list now. */
  believe(endpoints: readonly ServiceEndpoint[]): void;
  /** A hold began (metrics). */
  holdStarted?(): void;
}

/**
 * Self-preservation for one service (what Eureka calls it): a change that would take away more than
 * half of the service's `'up'` endpoints at once — or all of them — by deleting their keys is not
 * believed at once. A re-list after etcd lost its data, a member that answers before its peers caught
 * up, or a lease storm after a pause of etcd would otherwise empty every caller's list while the
 * instances are alive and re-registering. The endpoints stay listed and pickable while held, and:
 * - each that is written again is simply back (no change is published);
 * - those still missing from a list read `confirmMs` after the hold began are gone;
 * - when the removal came from a list at a lower revision than one already seen (etcd lost its data:
 *   absences say nothing about the instances), only their return or `maxHoldMs` ends the hold;
 * - whatever happens, the hold ends after `maxHoldMs`, so a real mass death is believed in bounded time.
 * Endpoints that turned `'draining'` or `'down'` first (a graceful shutdown does) are not `'up'`,
 * so their deletion is never held.
 */
export class HeldRemovals {
  private readonly held = new Map<string, ServiceEndpoint>();
  private confirmTimer: NodeJS.Timeout | undefined;
  private maxTimer: NodeJS.Timeout | undefined;
  /** The confirmation list is due: the next list read decides. */
  private confirmDue = false;
  /** The hold began with a list at a lower revision than one seen before: etcd lost its data. */
  private etcdLostData = false;
  private heldCount = 0;
  /** The loss the last `holds()` weighed: what a hold that starts reports. */
  private loss = { removing: 0, pickable: 0 };

  constructor(
    private readonly settings: SelfPreservationSettings | false,
    private readonly service: string,
    private readonly logger: LoggerService,
    private readonly listener: HeldRemovalsListener,
  ) {}

  /** Self-preservation is on. */
  get enabled(): boolean {
    return this.settings !== false;
  }

  /** How many endpoints are held now. */
  get count(): number {
    return this.held.size;
  }

  /** The endpoints held now. */
  endpoints(): IterableIterator<ServiceEndpoint> {
    return this.held.values();
  }

  /** Endpoints are held now. */
  get active(): boolean {
    return this.held.size > 0;
  }

  /**
   * Whether the deletion of `removing` of the `pickable` `'up'` endpoints, by a list (`fromList`) or
   * a watch response, is held. While a hold is on, every further deletion joins it — except those of
   * the confirmation list, which is the truth.
   */
  holds(removing: number, pickable: number, fromList: boolean): boolean {
    if (this.settings === false || removing === 0) return false;
    if (this.active) return !(fromList && this.confirmDue && !this.etcdLostData);
    this.loss = { removing, pickable };
    return removing * 2 > pickable;
  }

  /** Holds the deletion of `key`; the first held key of a hold starts its timers and says so. */
  hold(key: string, endpoint: ServiceEndpoint, lostData: boolean): void {
    const settings = this.settings as SelfPreservationSettings;
    if (!this.active) {
      this.listener.holdStarted?.();
      this.etcdLostData = lostData;
      this.heldCount = 0;
      this.confirmTimer = setTimeout(() => this.confirm(), settings.confirmMs);
      this.maxTimer = setTimeout(() => this.end('expired'), settings.maxHoldMs);
      const { removing, pickable } = this.loss;
      const cause = lostData ? 'a list from an etcd that lost its data left out' : 'a single change took away';
      const until = lostData
        ? 'they are written again'
        : `a list ${seconds(settings.confirmMs)} later confirms them gone`;
      this.logger.warn(
        `Self-preservation: not removing the ${removing} of ${pickable} 'up' endpoints of "${this.service}" ` +
          `that ${cause}, until ${until} (at most ${seconds(settings.maxHoldMs)})`,
      );
    }
    this.held.set(key, endpoint);
    this.heldCount += 1;
  }

  /** The endpoint held for `key`, which is back (written again): no longer held. */
  returned(key: string): ServiceEndpoint | undefined {
    const endpoint = this.held.get(key);
    if (endpoint === undefined) return undefined;
    this.held.delete(key);
    if (!this.active) this.end('back');
    return endpoint;
  }

  /** After every list: the confirmation list, if due, decides for those still held. */
  listed(): void {
    if (this.active && this.confirmDue && !this.etcdLostData) this.end('confirmed');
  }

  stop(): void {
    clearTimeout(this.confirmTimer);
    clearTimeout(this.maxTimer);
  }

  private confirm(): void {
    // After a loss of etcd's data the list only brings back those it has (see `listed`).
    this.confirmDue = true;
    this.listener.relist();
  }

  private end(why: 'back' | 'confirmed' | 'expired'): void {
    this.stop();
    this.confirmDue = false;
    const gone = [...this.held.values()];
    this.held.clear();
    if (why === 'back') {
      this.logger.log(
        `Self-preservation: the ${this.heldCount} held endpoint(s) of "${this.service}" are back; nothing was removed`,
      );
      return;
    }
    const reason =
      why === 'confirmed'
        ? 'a fresh list confirms it'
        : `held for the longest allowed, ${seconds((this.settings as SelfPreservationSettings).maxHoldMs)}`;
    const back = this.heldCount - gone.length;
    const comeBack = back > 0 ? `; ${back} came back` : '';
    this.logger.log(
      `Self-preservation: removing ${gone.length} endpoint(s) of "${this.service}" (${reason})${comeBack}`,
    );
    this.listener.believe(gone);
  }
}

/** A duration for a log line: `3 s`, or `0.15 s` below a second. */
function seconds(ms: number): string {
  return ms >= 1000 ? `${Math.round(ms / 1000)} s` : `${ms / 1000} s`;
}
