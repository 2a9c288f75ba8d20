import type { OnApplicationShutdown } from '@nestjs/common';
import { ClientProxy, ClientTCP, type ReadPacket, type WritePacket } from '@nestjs/microservices';
import {
  catchError,
  concat,
  connectable,
  defer,
  EMPTY,
  from,
  merge,
  Observable,
  Subject,
  switchMap,
  throwError,
  type Subscription,
} from 'rxjs';
import { instanceKey } from '../codec/instance-key.js';
import type { ServiceEndpoint } from '../service-endpoint.interface.js';
import type { ClientProxyParts } from './client-proxy-parts.js';
import { DeliveryAttempts } from './delivery-attempts.js';
import { PatternRoutes, type PickedRoute, type Route } from './pattern-routes.js';
import type { DiscoveryClientConfig } from './discovery-client-options.interface.js';
import { InstanceClients, type Delivery, type InstanceClient } from './instance-clients.js';

/**
 * A Nest ClientProxy whose every `send()`/`emit()` goes to a live instance of one service, chosen
 * by that service's strategy — or, with `byPattern`, of the service whose instances handle the
 * pattern (an event: one instance of each such service). One pooled ClientTCP per instance, opened
 * on first use and closed when the instance leaves the list or the app closes. A call whose instance
 * refuses or drops the connection before replying moves on to an instance not tried yet (up to
 * `retries` more).
 */
export class DiscoveryClientProxy extends ClientProxy implements OnApplicationShutdown {
  private readonly pool: InstanceClients;
  private readonly deliveries: DeliveryAttempts;
  private readonly departures: Subscription;
  /** Where a call by pattern goes (with `byPattern`); undefined for a client of one service. */
  private readonly routes: PatternRoutes | undefined;
  /** The one route of a client of one service. */
  private readonly serviceRoute: Route | undefined;

  constructor(
    private readonly config: Required<Pick<DiscoveryClientConfig, 'retries'>> & DiscoveryClientConfig,
    parts: ClientProxyParts,
    /** Opens the client of one instance (a pooled ClientTCP; specs pass their own). */
    connectTo: (endpoint: ServiceEndpoint) => InstanceClient = (endpoint) =>
      new ClientTCP({ ...config.options, host: endpoint.host, port: endpoint.port }),
  ) {
    super();
    this.pool = new InstanceClients(connectTo);
    this.deliveries = new DeliveryAttempts(config, parts, this.pool);
    if (config.byPattern === true) {
      this.routes = new PatternRoutes(parts, config.where);
      // An instance that left, or moved: its connection goes (not on a change of status: calls may be in flight).
      this.departures = parts.catalog.catalog$().subscribe(({ changes }) => {
        for (const { type, endpoint, previous } of changes) {
          if (type === 'removed') this.pool.close(instanceKey(endpoint));
          else if (previous !== undefined && instanceKey(previous) !== instanceKey(endpoint))
            this.pool.close(instanceKey(previous));
        }
      });
    } else {
      this.serviceRoute = { service: config.service!, where: config.where };
      this.departures = parts.watches
        .observe(config.service!, (watch) => watch.endpoints$)
        .subscribe((endpoints) => this.pool.keepOnly(endpoints));
    }
  }

  /** The service whose instances this client calls (watched from bootstrap); undefined when it routes by pattern. */
  get service(): string | undefined {
    return this.config.service;
  }

  /** Whether calls go to whichever service handles their pattern (the catalog is watched from bootstrap). */
  get byPattern(): boolean {
    return this.routes !== undefined;
  }

  /** Nothing to connect up front: each instance's connection opens on its first call. */
  async connect(): Promise<void> {}

  close(): void {
    this.pool.closeAll();
  }

  onApplicationShutdown(): void {
    this.departures.unsubscribe();
    this.close();
  }

  /** The pooled clients, by instance (`id@address`). */
  unwrap<T>(): T {
    return this.pool.all as T;
  }

  override send<TResult = any, TInput = any>(pattern: any, data: TInput): Observable<TResult> {
    const run: Delivery<TResult> = { run: (client) => client.send<TResult, TInput>(pattern, data), awaitsReply: true };
    if (this.routes === undefined)
      return defer(() => this.deliveries.deliver<TResult>(this.serviceRoute!, pattern, data, new Set(), run));
    const routes = this.routes;
    // The first service that has an instance with the pattern takes the message.
    return from(routes.servicesFor(pattern, 'message')).pipe(
      switchMap((services) => {
        const { route, endpoint } = routes.pickFirst(services, pattern, this.keyOf(pattern, data));
        return this.deliveries.deliver<TResult>(route, pattern, data, new Set(), run, endpoint);
      }),
    );
  }

  override emit<TResult = any, TInput = any>(pattern: any, data: TInput): Observable<TResult> {
    const run: Delivery<TResult> = { run: (client) => client.emit<TResult, TInput>(pattern, data), awaitsReply: false };
    const routes = this.routes;
    const delivery =
      routes === undefined
        ? defer(() => this.deliveries.deliver<TResult>(this.serviceRoute!, pattern, data, new Set(), run))
        : from(routes.servicesFor(pattern, 'event')).pipe(
            switchMap((services) =>
              this.emitToEach<TResult>(
                routes.pickEach(services, pattern, this.keyOf(pattern, data)),
                pattern,
                data,
                run,
              ),
            ),
          );
    // Hot, like Nest's own emit(): the event goes out whether or not anyone subscribes.
    const source = connectable(delivery, { connector: () => new Subject<TResult>(), resetOnDisconnect: false });
    source.connect();
    return source;
  }

  /**
   * An event to one instance of each service: every delivery runs to its end; the first failure, if any, is
   * the error.
   */
  private emitToEach<T>(
    picked: readonly PickedRoute[],
    pattern: unknown,
    data: unknown,
    run: Delivery<T>,
  ): Observable<T> {
    const failures: unknown[] = [];
    const deliveries = picked.map(({ route, endpoint }) =>
      defer(() => this.deliveries.deliver<T>(route, pattern, data, new Set(), run, endpoint)).pipe(
        catchError((error: unknown) => {
          failures.push(error);
          return EMPTY;
        }),
      ),
    );
    return concat(
      merge(...deliveries),
      defer(() => (failures.length === 0 ? EMPTY : throwError(() => failures[0]))),
    );
  }

  private keyOf(pattern: unknown, data: unknown): string | undefined {
    return this.config.keyOf?.(pattern, data);
  }

  // Never called: send() and emit() above go through the pooled clients.
  protected publish(_packet: ReadPacket, _callback: (packet: WritePacket) => void): () => void {
    throw new Error('DiscoveryClientProxy sends through its pooled clients');
  }

  protected async dispatchEvent<T = any>(_packet: ReadPacket): Promise<T> {
    throw new Error('DiscoveryClientProxy emits through its pooled clients');
  }
}
