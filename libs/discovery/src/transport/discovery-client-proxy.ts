import type { OnApplicationShutdown } from '@nestjs/common';
import { ClientProxy, ClientTCP, type ReadPacket, type WritePacket } from '@nestjs/microservices';
import { catchError, concat, connectable, defer, EMPTY, finalize, from, merge, Observable, Subject, switchMap, tap, throwError, timeout, type Subscription } from 'rxjs';
import { instanceKey } from '../codec/instance-key.js';
import { messages, type NotRetried } from '../discovery.messages.js';
import { CallTimeoutError } from '../errors.js';
import type { ServiceEndpoint } from '../service-endpoint.interface.js';
import type { ClientProxyParts } from './client-proxy-parts.js';
import { isConnectionError } from '../calls/connection-errors.js';
import { PatternRoutes, type PickedRoute, type Route } from './pattern-routes.js';
import type { DiscoveryClientConfig } from './discovery-client-options.interface.js';
import { InstanceClients, type Delivery, type InstanceClient } from './instance-clients.js';
import { SendMetrics } from './send-metrics.js';

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
  private readonly departures: Subscription;
  /** Where a call by pattern goes (with `byPattern`); undefined for a client of one service. */
  private readonly routes: PatternRoutes | undefined;
  /** The one route of a client of one service. */
  private readonly serviceRoute: Route | undefined;

  constructor(
    private readonly config: Required<Pick<DiscoveryClientConfig, 'retries'>> & DiscoveryClientConfig,
    private readonly parts: ClientProxyParts,
    /** Opens the client of one instance (a pooled ClientTCP; specs pass their own). */
    connectTo: (endpoint: ServiceEndpoint) => InstanceClient = (endpoint) =>
      new ClientTCP({ ...config.options, host: endpoint.host, port: endpoint.port }),
  ) {
    super();
    this.pool = new InstanceClients(connectTo);
    if (config.byPattern === true) {
      this.routes = new PatternRoutes(parts, config.where);
      // An instance that left, or moved: its connection goes (not on a change of status: calls may be in flight).
      this.departures = parts.catalog.catalog$().subscribe(({ changes }) => {
        for (const { type, endpoint, previous } of changes) {
          if (type === 'removed') this.pool.close(instanceKey(endpoint));
          else if (previous !== undefined && instanceKey(previous) !== instanceKey(endpoint)) this.pool.close(instanceKey(previous));
        }
      });
    } else {
      this.serviceRoute = { service: config.service!, where: config.where };
      this.departures = parts.watches.observe(config.service!, (watch) => watch.endpoints$).subscribe((endpoints) => this.pool.keepOnly(endpoints));
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
    const run: Delivery<TResult> = { run: (client) => client.emit<TResult, TInput>(pattern, data), awaitsReply: false };
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
  private emitToEach<T>(picked: readonly PickedRoute[], pattern: unknown, data: unknown, run: Delivery<T>): Observable<T> {
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

  /**
   * Runs the call on `endpoint` (first: the strategy's pick). A failure before any reply that is the
   * connection's — or a send's timeout, with `retryOnTimeout` — moves it to an instance not tried
   * yet, within `retries` and the service's retry budget.
   */
  private call<T>(
    route: Route,
    pattern: unknown,
    data: unknown,
    tried: Set<string>,
    delivery: Delivery<T>,
    endpoint: ServiceEndpoint = this.parts.attempts.first(route.service, this.keyOf(pattern, data), route.where),
  ): Observable<T> {
    const { attempts } = this.parts;
    const service = route.service;
    if (tried.size === 0) attempts.policyOf(service).started();
    const send = delivery.awaitsReply ? SendMetrics.of(tried, () => attempts.telemetryOf(service, 'send')) : undefined;
    const instance = instanceKey(endpoint);
    tried.add(instance);
    const attempt = attempts.start(endpoint);
    const answered = () => {
      if (!attempt.hasAnswered) send?.attemptEnded(endpoint.address, 'ok', 'ok');
      attempt.answered();
    };
    let replies = delivery.run(this.pool.for(endpoint));
    const timeoutMs = this.config.timeoutMs ?? attempts.policyOf(service).policy.attemptTimeoutMs;
    if (delivery.awaitsReply) {
      replies = replies.pipe(timeout({ first: timeoutMs, with: () => throwError(() => new CallTimeoutError(service, [...tried], '')) }));
    }
    return replies.pipe(
      // The send is answered at its first reply (a caller's firstValueFrom() unsubscribes right after it).
      tap({ next: () => answered(), complete: () => (answered(), attempt.finish('answered')) }),
      // Unsubscribed before an end: after a reply (firstValueFrom() leaves right after it) the instance
      // answered — outlier ejection hears it; before any, the caller gave up.
      finalize(() => (attempt.hasAnswered ? attempt.finish('answered') : attempt.finish('abandoned') && send?.abandoned(endpoint.address))),
      catchError((error: unknown) => {
        // Before any reply, a timeout or a failure of the connection is the instance's; anything else is its answer.
        const replied = attempt.hasAnswered;
        const timedOut = !replied && error instanceof CallTimeoutError;
        const unreachable = !replied && !timedOut && isConnectionError(error);
        attempt.finish(timedOut ? 'timeout' : unreachable ? 'unreachable' : 'answered', !replied && !timedOut && !unreachable);
        if (!timedOut && !unreachable) {
          if (!replied) send?.attemptEnded(endpoint.address, 'error', 'error');
          throw error;
        }
        // Unreachable or silent: its connection is of no use until it comes back.
        this.pool.close(instance);
        const notRetried = (why: NotRetried) => {
          send?.gaveUp(endpoint.address, timedOut, why);
          if (!timedOut) return error;
          return new CallTimeoutError(service, [...tried], messages.sendTimedOut(service, timeoutMs, [...tried], why));
        };
        if (timedOut && this.config.retryOnTimeout !== true) throw notRetried('notIdempotent');
        if (tried.size > this.config.retries) throw notRetried('noRetriesLeft');
        const next = attempts.next(service, tried, this.keyOf(pattern, data), route.where);
        if (next === undefined) throw notRetried('noneLeft');
        if (!attempts.policyOf(service).mayTryAgain()) throw notRetried('budgetSpent');
        send?.attemptEnded(endpoint.address, timedOut ? 'timeout' : 'unreachable');
        return this.call(route, pattern, data, tried, delivery, next);
      }),
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
