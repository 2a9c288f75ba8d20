import type { OnApplicationShutdown } from '@nestjs/common';
import { ClientProxy, ClientTCP, type ReadPacket, type WritePacket } from '@nestjs/microservices';
import { catchError, concat, connectable, defer, EMPTY, finalize, from, merge, Observable, Subject, switchMap, tap, throwError, type Subscription } from 'rxjs';
import { instanceKey } from '../codec/instance-key.js';
import type { ServiceEndpoint } from '../service-endpoint.interface.js';
import type { ClientProxyParts } from './client-proxy-parts.js';
import { isConnectionError } from '../calls/connection-errors.js';
import { PatternRoutes, type PickedRoute, type Route } from './pattern-routes.js';
import type { DiscoveryClientConfig } from './discovery-client-options.interface.js';

/**
 * A Nest ClientProxy whose every `send()`/`emit()` goes to a live instance of one service, chosen
 * by that service's strategy — or, with `byPattern`, of the service whose instances handle the
 * pattern (an event: one instance of each such service). One pooled ClientTCP per instance, opened
 * on first use and closed when the instance leaves the list or the app closes. A call whose instance
 * refuses or drops the connection before replying moves on to an instance not tried yet (up to
 * `retries` more).
 */
export class DiscoveryClientProxy extends ClientProxy implements OnApplicationShutdown {
  private readonly pool = new Map<string, InstanceClient>();
  private readonly departures: Subscription;
  /** Where a call by pattern goes (with `byPattern`); undefined for a client of one service. */
  private readonly routes: PatternRoutes | undefined;
  /** The one route of a client of one service. */
  private readonly serviceRoute: Route | undefined;

  constructor(
    private readonly config: Required<Pick<DiscoveryClientConfig, 'retries'>> & DiscoveryClientConfig,
    private readonly parts: ClientProxyParts,
    /** Opens the client of one instance (a pooled ClientTCP; specs pass their own). */
    private readonly connectTo: (endpoint: ServiceEndpoint) => InstanceClient = (endpoint) =>
      new ClientTCP({ ...config.options, host: endpoint.host, port: endpoint.port }),
  ) {
    super();
    if (config.byPattern === true) {
      this.routes = new PatternRoutes(parts, config.where);
      // An instance that left, or moved: its connection goes (not on a change of status: calls may be in flight).
      this.departures = parts.catalog.catalog$().subscribe(({ changes }) => {
        for (const { type, endpoint, previous } of changes) {
          if (type === 'removed') this.closeClient(instanceKey(endpoint));
          else if (previous !== undefined && instanceKey(previous) !== instanceKey(endpoint)) this.closeClient(instanceKey(previous));
        }
      });
    } else {
      this.serviceRoute = { service: config.service!, where: config.where };
      this.departures = parts.watches.observe(config.service!, (watch) => watch.endpoints$).subscribe((endpoints) => this.closeDeparted(endpoints));
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
    for (const client of this.pool.values()) client.close();
    this.pool.clear();
  }

  onApplicationShutdown(): void {
    this.departures.unsubscribe();
    this.close();
  }

  /** The pooled clients, by instance (`id@address`). */
  unwrap<T>(): T {
    return this.pool as T;
  }

  override send<TResult = any, TInput = any>(pattern: any, data: TInput): Observable<TResult> {
    const run = (client: InstanceClient) => client.send<TResult, TInput>(pattern, data);
    if (this.routes === undefined) return defer(() => this.call<TResult>(this.serviceRoute!, pattern, data, new Set(), run));
    const routes = this.routes;
    // The first service that has an instance with the pattern takes the message.
    return from(routes.servicesFor(pattern, 'message')).pipe(
      switchMap((services) => {
        const { route, endpoint } = routes.pickFirst(services, pattern, this.keyOf(pattern, data));
        return this.call<TResult>(route, pattern, data, new Set(), run, endpoint);
      }),
    );
  }

  override emit<TResult = any, TInput = any>(pattern: any, data: TInput): Observable<TResult> {
    const run = (client: InstanceClient) => client.emit<TResult, TInput>(pattern, data);
    const routes = this.routes;
    const delivery =
      routes === undefined
        ? defer(() => this.call<TResult>(this.serviceRoute!, pattern, data, new Set(), run))
        : from(routes.servicesFor(pattern, 'event')).pipe(
            switchMap((services) => this.emitToEach<TResult>(routes.pickEach(services, pattern, this.keyOf(pattern, data)), pattern, data, run)),
          );
    // Hot, like Nest's own emit(): the event goes out whether or not anyone subscribes.
    const source = connectable(delivery, { connector: () => new Subject<TResult>(), resetOnDisconnect: false });
    source.connect();
    return source;
  }

  /** An event to one instance of each service: every delivery runs to its end; the first failure, if any, is the error. */
  private emitToEach<T>(picked: readonly PickedRoute[], pattern: unknown, data: unknown, run: (client: InstanceClient) => Observable<T>): Observable<T> {
    const failures: unknown[] = [];
    const deliveries = picked.map(({ route, endpoint }) =>
      defer(() => this.call<T>(route, pattern, data, new Set(), run, endpoint)).pipe(
        catchError((error: unknown) => {
          failures.push(error);
          return EMPTY;
        }),
      ),
    );
    return concat(merge(...deliveries), defer(() => (failures.length === 0 ? EMPTY : throwError(() => failures[0]))));
  }

  /** Runs the call on `endpoint` (first: the strategy's pick); on a connection failure, on one not tried yet. */
  private call<T>(
    route: Route,
    pattern: unknown,
    data: unknown,
    tried: Set<string>,
    run: (client: InstanceClient) => Observable<T>,
    endpoint: ServiceEndpoint = this.parts.attempts.first(route.service, this.keyOf(pattern, data), route.where),
  ): Observable<T> {
    const instance = instanceKey(endpoint);
    tried.add(instance);
    const attempt = this.parts.attempts.start(endpoint);
    return run(this.clientFor(endpoint)).pipe(
      tap({ next: () => attempt.answered(), complete: () => attempt.finish('answered') }),
      // Unsubscribed before an end: the caller gave up.
      finalize(() => attempt.finish('abandoned')),
      catchError((error: unknown) => {
        // A failure before any answer that is the connection's is the instance's; an error after an answer, or from the instance, is its answer.
        const unreachable = !attempt.hasAnswered && isConnectionError(error);
        attempt.finish(unreachable ? 'unreachable' : 'answered');
        const next = unreachable && tried.size <= this.config.retries ? this.parts.attempts.next(route.service, tried, this.keyOf(pattern, data), route.where) : undefined;
        if (!next) throw error;
        // The instance is unreachable: its connection is useless until it comes back.
        this.closeClient(instance);
        return this.call(route, pattern, data, tried, run, next);
      }),
    );
  }

  private keyOf(pattern: unknown, data: unknown): string | undefined {
    return this.config.keyOf?.(pattern, data);
  }

  private clientFor(endpoint: ServiceEndpoint): InstanceClient {
    const instance = instanceKey(endpoint);
    let client = this.pool.get(instance);
    if (!client) {
      client = this.connectTo(endpoint);
      this.pool.set(instance, client);
    }
    return client;
  }

  private closeClient(instance: string): void {
    this.pool.get(instance)?.close();
    this.pool.delete(instance);
  }

  private closeDeparted(endpoints: readonly ServiceEndpoint[]): void {
    const present = new Set(endpoints.map(instanceKey));
    for (const instance of this.pool.keys()) if (!present.has(instance)) this.closeClient(instance);
  }

  // Never called: send() and emit() above go through the pooled clients.
  protected publish(_packet: ReadPacket, _callback: (packet: WritePacket) => void): () => void {
    throw new Error('DiscoveryClientProxy sends through its pooled clients');
  }

  protected async dispatchEvent<T = any>(_packet: ReadPacket): Promise<T> {
    throw new Error('DiscoveryClientProxy emits through its pooled clients');
  }
}

/** What the proxy uses of one instance's client. */
type InstanceClient = Pick<ClientProxy, 'send' | 'emit' | 'close'>;
