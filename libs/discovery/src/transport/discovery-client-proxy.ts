import type { OnApplicationShutdown } from '@nestjs/common';
import { ClientProxy, ClientTCP, type ReadPacket, type WritePacket } from '@nestjs/microservices';
import { catchError, connectable, defer, finalize, Observable, Subject, tap, type Subscription } from 'rxjs';
import { isInFlightTracker } from '../balancing/load-balancing-strategy.js';
import type { DiscoveryClient } from '../discovery/discovery-client.js';
import { instanceKey } from '../discovery/outlier-ejection.js';
import type { ServiceEndpoint } from '../service-endpoint.interface.js';
import { isConnectionError } from './connection-errors.js';
import type { DiscoveryClientConfig } from './discovery-client-options.interface.js';

/**
 * A Nest ClientProxy whose every `send()`/`emit()` goes to a live instance of one service, chosen
 * by that service's strategy. One pooled ClientTCP per instance, opened on first use and closed
 * when the instance leaves the list or the app closes. A call whose instance refuses or drops the
 * connection before replying moves on to an instance not tried yet (up to `retries` more).
 */
export class DiscoveryClientProxy extends ClientProxy implements OnApplicationShutdown {
  private readonly pool = new Map<string, InstanceClient>();
  private readonly departures: Subscription;

  constructor(
    private readonly config: Required<Pick<DiscoveryClientConfig, 'service' | 'retries'>> & DiscoveryClientConfig,
    private readonly discovery: DiscoveryClient,
    /** Opens the client of one instance (a pooled ClientTCP; specs pass their own). */
    private readonly connectTo: (endpoint: ServiceEndpoint) => InstanceClient = (endpoint) =>
      new ClientTCP({ ...config.options, host: endpoint.host, port: endpoint.port }),
  ) {
    super();
    this.departures = discovery.endpoints$(config.service).subscribe((endpoints) => this.closeDeparted(endpoints));
  }

  /** The service whose instances this client calls (watched from bootstrap). */
  get service(): string {
    return this.config.service;
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
    return defer(() => this.call<TResult>(pattern, data, new Set(), (client) => client.send<TResult, TInput>(pattern, data)));
  }

  override emit<TResult = any, TInput = any>(pattern: any, data: TInput): Observable<TResult> {
    // Hot, like Nest's own emit(): the event goes out whether or not anyone subscribes.
    const source = connectable(
      defer(() => this.call<TResult>(pattern, data, new Set(), (client) => client.emit<TResult, TInput>(pattern, data))),
      { connector: () => new Subject<TResult>(), resetOnDisconnect: false },
    );
    source.connect();
    return source;
  }

  /** Runs the call on `endpoint` (first: the strategy's pick); on a connection failure, on one not tried yet. */
  private call<T>(
    pattern: unknown,
    data: unknown,
    tried: Set<string>,
    run: (client: InstanceClient) => Observable<T>,
    endpoint: ServiceEndpoint = this.discovery.pick(this.config.service, { key: this.keyOf(pattern, data), where: this.config.where }),
  ): Observable<T> {
    const instance = instanceKey(endpoint);
    tried.add(instance);
    const strategy = this.discovery.strategyFor(this.config.service);
    const tracker = isInFlightTracker(strategy) ? strategy : undefined;
    tracker?.callStarted(endpoint);
    const startedAt = performance.now();
    let responseMs: number | undefined;
    const answered = () => (responseMs ??= performance.now() - startedAt);
    return run(this.clientFor(endpoint)).pipe(
      tap({
        next: answered,
        complete: () => {
          answered();
          this.discovery.reportSuccess(endpoint);
        },
      }),
      finalize(() => tracker?.callFinished(endpoint, responseMs)),
      catchError((error: unknown) => {
        const unreachable = responseMs === undefined && isConnectionError(error);
        if (!unreachable) answered(); // an error from the instance is an answer
        // Reported for outlier ejection: a failure before any answer, or else the instance answered.
        if (unreachable) this.discovery.reportFailure(endpoint);
        else this.discovery.reportSuccess(endpoint);
        const next = unreachable && tried.size <= this.config.retries ? this.discovery.pickExcept(this.config.service, tried, { key: this.keyOf(pattern, data), where: this.config.where }) : undefined;
        if (!next) throw error;
        // The instance is unreachable: its connection is useless until it comes back.
        this.pool.get(instance)?.close();
        this.pool.delete(instance);
        return this.call(pattern, data, tried, run, next);
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

  private closeDeparted(endpoints: readonly ServiceEndpoint[]): void {
    const present = new Set(endpoints.map(instanceKey));
    for (const [instance, client] of this.pool) {
      if (!present.has(instance)) {
        client.close();
        this.pool.delete(instance);
      }
    }
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

