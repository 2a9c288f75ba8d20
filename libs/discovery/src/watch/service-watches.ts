import type { LoggerService } from '@nestjs/common';
import { Observable } from 'rxjs';
import type { StrategyResolver } from '../balancing/strategy-resolver.js';
import { servicePrefix } from '../codec/endpoint-key.js';
import { messages } from '../discovery.messages.js';
import { DiscoveryClosedError } from '../errors.js';
import type { EtcdGateway, PrefixList } from '../etcd/etcd-gateway.js';
import type { ResolvedDiscoveryOptions } from '../options/discovery-module-options.interface.js';
import { assertServiceName } from '../options/validation.js';

import { ServicePicker } from '../picking/service-picker.js';
import { ServiceWatch, type ServiceWatchSettings } from './service-watch.js';
import { countSubscriber } from './shared-subscription.js';
import { TolerantDecoder } from './tolerant-decoder.js';

/** One watched service: its watch, its picker, who uses it. */
export interface WatchHandle {
  readonly watch: ServiceWatch;
  /** Picks from the watch's lists: status, ejections, subsets, zone, strategy. */
  readonly picker: ServicePicker;
  subscribers: number;
  /** Kept until shutdown: required services, and services read through getEndpoints()/pick(). */
  pinned: boolean;
}

/**
 * The watches of a `DiscoveryClient`, one per service: started on first use, shared by every
 * subscriber and pick, stopped when the last subscriber leaves unless pinned, all stopped at close.
 */
export class ServiceWatches {
  private readonly handles = new Map<string, WatchHandle>();
  /** How every watch of this client lists, retries and re-lists. */
  readonly settings: ServiceWatchSettings;
  /** One decoder for every watch of this client: an unreadable value is warned about once. */
  readonly decoder: TolerantDecoder;
  closed = false;

  constructor(
    private readonly options: ResolvedDiscoveryOptions,
    private readonly gateway: EtcdGateway,
    private readonly strategies: StrategyResolver,
    private readonly logger: LoggerService,
  ) {
    const { resyncIntervalMs, retry, selfPreservation } = options;
    this.settings = { resyncIntervalMs, retry, etcdHosts: options.etcd.hosts, selfPreservation };
    this.decoder = new TolerantDecoder(options.namespace, logger, new Map());
  }

  /** The handle of `service`, if it is watched. */
  get(service: string): WatchHandle | undefined {
    return this.handles.get(service);
  }

  /** The watch of `service`, kept until shutdown. */
  pinned(service: string): ServiceWatch {
    const handle = this.handleFor(service);
    handle.pinned = true;
    return handle.watch;
  }

  /** `select`ed from the watch of `service`, which runs while someone subscribes (or it is pinned). */
  shared<T>(service: string, select: (watch: ServiceWatch) => Observable<T>): Observable<T> {
    assertServiceName(service, 'DiscoveryClient');
    return new Observable<T>((subscriber) => {
      if (this.closed) return subscriber.complete();
      const handle = this.handleFor(service);
      return countSubscriber(handle, select(handle.watch), subscriber, () => {
        if (handle.pinned || this.handles.get(service) !== handle) return;
        this.handles.delete(service);
        void handle.watch.stop();
      });
    });
  }

  /** Pins `services`; the first lists of those not watched yet are read in batches. Resolves once each is listed. */
  async watchRequired(services: readonly string[]): Promise<void> {
    const fresh = services.filter((service) => !this.handles.has(service));
    if (fresh.length > 1) {
      const lists = this.gateway.listMany(fresh.map((service) => servicePrefix(this.options.namespace, service)));
      lists.catch(() => undefined); // each watch then lists on its own, with its own retries
      fresh.forEach((service, index) => this.handleFor(service, lists.then((all) => all[index])));
    }
    await Promise.all(services.map((service) => this.pinned(service).ready));
  }

  /** Stops every watch; lists stay as they were. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.handles.values()].map((handle) => handle.watch.stop()));
  }

  /**
   * The watch of `service`, started on first use. The name is checked here, once per service, so that
   * every entry point (pick() included) gets the same clear error without a check per call; and no
   * watch starts once the client is closed (it would hold a timer on a closed etcd client).
   */
  handleFor(service: string, batchedList?: Promise<PrefixList | undefined>): WatchHandle {
    let handle = this.handles.get(service);
    if (!handle) {
      assertServiceName(service, 'DiscoveryClient');
      if (this.closed) throw new DiscoveryClosedError(messages.discoveryClosed());
      const watch = new ServiceWatch(this.gateway, this.options.namespace, service, this.settings, this.logger, this.decoder, batchedList);
      const { outlierEjection, zone, zonePreference } = this.options;
      const picker = new ServicePicker(service, watch, this.strategies.forService(service), outlierEjection, zonePreference ? zone : undefined);
      handle = { watch, picker, subscribers: 0, pinned: false };
      this.handles.set(service, handle);
    }
    return handle;
  }
}
