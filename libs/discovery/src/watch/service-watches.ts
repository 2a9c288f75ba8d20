import { Inject, Injectable, type LoggerService, type OnApplicationShutdown } from '@nestjs/common';
import type { Observable } from 'rxjs';
import { servicePrefix } from '../codec/endpoint-key.js';
import { RESOLVED_DISCOVERY_OPTIONS } from '../discovery.constants.js';
import { EtcdGateway, type PrefixList } from '../etcd/etcd-gateway.js';
import type { ResolvedDiscoveryOptions } from '../options/discovery-module-options.interface.js';
import { assertServiceName } from '../options/validation.js';
import { libraryLogger } from '../util/library-logger.js';
import { Deferred } from '../util/deferred.js';
import { Listeners } from '../util/listeners.js';
import { cancellableSleep } from '../util/sleep.js';
import { PeriodicChecks } from './periodic-check.js';
import { ServiceWatch, type ServiceWatchSettings } from './service-watch.js';
import { SharedWatches } from './shared-watches.js';
import { TolerantDecoder } from './tolerant-decoder.js';
import { WATCH_BEFORE_LIST_MS } from './watch-from-now.js';
import type { RelistReason } from './relist-reason.js';

/** The most services whose first lists are read after their watches are created (see `watchRequired`). */
const LIST_AFTER_WATCHES_UP_TO = 128;

/** Whether a service's list is readable now, for health checks and error messages. */
export interface ListStatus {
  /** Listed at least once. */
  listed: boolean;
  endpoints: number;
  /** Why the last attempt to list it failed, while it could not be read. */
  error: Error | undefined;
}

/**
 * The app's watches of services, one per service (an internal provider: `DiscoveryClient` and the
 * parts that call, route and report read them). Each starts on first use, is shared by every
 * subscriber and pick, stops when its last subscriber leaves unless pinned, and all stop at shutdown.
 */
@Injectable()
export class ServiceWatches implements OnApplicationShutdown {
  /** How every watch of this app lists, retries and re-lists. */
  readonly settings: ServiceWatchSettings;
  /** One decoder for every watch of this app: an unreadable value is warned about once. */
  readonly decoder: TolerantDecoder;
  private readonly logger: LoggerService;
  /** The periodic checks of every watch of this app (the catalog's too), in rounds: one count request per round. */
  private readonly checks: PeriodicChecks;
  private readonly watches: SharedWatches<ServiceWatch>;
  /** First lists read in a batch (`watchRequired`), handed to the watch that starts next for the service. */
  private readonly batchedLists = new Map<string, Promise<PrefixList | undefined>>();
  /** The waits of batches for their watches' creation: ended at shutdown. */
  private readonly patiences = new Set<{ cancel: () => void }>();
  /** A watch (of a service or the catalog) listed its prefix again, and why. */
  readonly relisted = new Listeners<[RelistReason]>();
  /** Self-preservation began holding removals of a service. */
  readonly holdStarted = new Listeners<[string]>();

  constructor(
    @Inject(RESOLVED_DISCOVERY_OPTIONS) private readonly options: ResolvedDiscoveryOptions,
    private readonly gateway: EtcdGateway,
  ) {
    this.logger = libraryLogger('DiscoveryClient', options);
    const { resyncIntervalMs, backoff, selfPreservation } = options;
    const onRelist = (reason: RelistReason) => this.relisted.tell(reason);
    const onHold = (service: string) => this.holdStarted.tell(service);
    this.checks = new PeriodicChecks(resyncIntervalMs);
    this.settings = {
      resyncIntervalMs,
      backoff,
      etcdHosts: options.etcd.hosts,
      selfPreservation,
      onRelist,
      onHold,
      checks: this.checks,
    };
    this.decoder = new TolerantDecoder(options.namespace, this.logger, new Map());
    this.watches = new SharedWatches((service) => this.start(service));
  }

  get closed(): boolean {
    return this.watches.closed;
  }

  /** The watch of `service`, if it runs. */
  get(service: string): ServiceWatch | undefined {
    return this.watches.get(service);
  }

  /** Every watch running now. */
  running(): Iterable<ServiceWatch> {
    return this.watches.running();
  }

  /** The watch of `service`, kept until shutdown (a service read synchronously or picked from). */
  pin(service: string): ServiceWatch {
    return this.watches.pin(service);
  }

  /** What `select` gives of the watch of `service`, which runs while someone subscribes (or it is pinned). */
  observe<T>(service: string, select: (watch: ServiceWatch) => Observable<T>): Observable<T> {
    assertServiceName(service, 'DiscoveryClient');
    return this.watches.observe(service, select);
  }

  /**
   * Pins `services`; the first lists of those not watched yet are read in one batch. Up to
   * LIST_AFTER_WATCHES_UP_TO of them, once their watches are created (see `FromNowWatch`): a round
   * trip, and no second list when etcd moves meanwhile (as it does all the time while a fleet
   * starts). More, before their watches: etcd creates some 3 watches a millisecond, and lists read
   * meanwhile slow the creates and are slowed by them: 1,000 services' first lists were readable
   * after 1.1 s waiting for their watches, 0.6–0.7 s read first (as before watches came first). A
   * prefix whose watch was created after etcd moved past the list's revision is listed once more.
   */
  async watchRequired(services: readonly string[]): Promise<void> {
    const fresh = services.filter((service) => this.watches.get(service) === undefined);
    fresh.forEach((service) => assertServiceName(service, 'DiscoveryClient')); // none pinned if one is refused
    if (fresh.length > LIST_AFTER_WATCHES_UP_TO) await this.listFirst(fresh);
    else if (fresh.length > 1) this.listOnceWatched(fresh);
    await Promise.all(services.map((service) => this.watches.pin(service).ready));
  }

  /** Whether the list of `service` is readable now; it starts no watch. */
  listStatus(service: string): ListStatus {
    const watch = this.watches.get(service);
    return { listed: watch?.isLoaded ?? false, endpoints: watch?.current.length ?? 0, error: watch?.lastListError };
  }

  /** Stops every watch; lists stay as they were. */
  async onApplicationShutdown(): Promise<void> {
    this.checks.stop();
    this.patiences.forEach((patience) => patience.cancel());
    await this.watches.close();
  }

  /** Pins `services` (not watched yet), and lists them once their watches are created (or later). */
  private listOnceWatched(services: readonly string[]): void {
    const lists = this.batchLists(services);
    const created = Promise.all(services.map((service) => this.watches.pin(service).watchCreated));
    const patience = cancellableSleep(WATCH_BEFORE_LIST_MS);
    this.patiences.add(patience);
    void Promise.race([created, patience.done]).then(() => {
      patience.cancel();
      this.patiences.delete(patience);
      if (this.closed) lists.resolve([]);
      else this.listInto(lists, services);
    });
  }

  /** Lists `services` (not watched yet), for their watches to take when they start. */
  private async listFirst(services: readonly string[]): Promise<void> {
    const lists = this.batchLists(services);
    this.listInto(lists, services);
    await lists.promise;
  }

  /** The batch's lists, handed to the watches of `services` as they start. */
  private batchLists(services: readonly string[]): Deferred<(PrefixList | undefined)[]> {
    const lists = new Deferred<(PrefixList | undefined)[]>();
    services.forEach((service, index) =>
      this.batchedLists.set(
        service,
        lists.promise.then((all) => all[index]),
      ),
    );
    return lists;
  }

  private listInto(lists: Deferred<(PrefixList | undefined)[]>, services: readonly string[]): void {
    const prefixes = services.map((service) => servicePrefix(this.options.namespace, service));
    // Failed: each watch lists on its own, with its own retries.
    this.gateway.listMany(prefixes).then(lists.resolve, () => lists.resolve([]));
  }

  /**
   * A new watch. The name is checked here, once per service, so that every entry point (pick()
   * included) gets the same clear error without a check per call.
   */
  private start(service: string): ServiceWatch {
    assertServiceName(service, 'DiscoveryClient');
    const batchedList = this.batchedLists.get(service);
    this.batchedLists.delete(service);
    return new ServiceWatch(
      this.gateway,
      this.options.namespace,
      service,
      this.settings,
      this.logger,
      this.decoder,
      batchedList,
    );
  }
}
