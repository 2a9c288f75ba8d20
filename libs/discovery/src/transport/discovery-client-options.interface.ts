import type { FactoryProvider, ModuleMetadata, Type } from '@nestjs/common';
import type { TcpClientOptions, Transport } from '@nestjs/microservices';
import type { EndpointFilter } from '../picking/subset.js';

/** One `DiscoveryClientsModule.register([...])` entry: a ClientProxy for one discovered service. */
export interface DiscoveryClientOptions {
  /** Injection token: `@Inject(name) client: ClientProxy`. */
  name: string | symbol;
  /** The service whose instances the calls go to; not given with `byPattern`. */
  service?: string;
  /**
   * Route each call by its pattern instead of to one service: `send('log.append', …)` goes to an
   * instance that publishes `log.append` (of the first service, by name, that has one to take it),
   * `emit('grade.recorded', …)` to one instance of each service that publishes the event. The
   * catalog is watched from bootstrap. Strategies, failover, ejection and `where` work as for a client
   * of one service. @default false
   */
  byPattern?: boolean;
  /** TCP, plain or TLS (`options.tlsOptions`): the transports that dial a host:port. @default Transport.TCP */
  transport?: Transport.TCP;
  /** ClientTCP options for every instance (tlsOptions, serializer, …); host and port come from discovery. */
  options?: Omit<NonNullable<TcpClientOptions['options']>, 'host' | 'port'>;
  /** A hash key per call, for ConsistentHashStrategy: `(pattern, data) => data.userId`. */
  keyOf?: (pattern: unknown, data: unknown) => string | undefined;
  /**
   * How many other instances a call tries when its instance refuses or drops the connection before
   * a reply. Errors raised by the remote handler are never retried.
   * @default 2
   */
  retries?: number;
  /** Only instances of this subset: `{ version?, zone?, metadata? }` (all must match) or a predicate. */
  where?: EndpointFilter;
  /**
   * The longest a `send()` waits for the first reply of an instance; then it errors with
   * `CallTimeoutError` and counts as a failure of that instance (outlier ejection, the load-aware
   * strategies). `emit()` waits for no reply, and has none.
   * @default the service's `calls.attemptTimeoutMs` (2000)
   */
  timeoutMs?: number;
  /**
   * A `send()` that timed out is sent again to another instance (up to `retries`). Off by default:
   * the first instance may have handled the message and only be slow to reply, so it may be
   * handled twice — turn it on for messages that may.
   * @default false
   */
  retryOnTimeout?: boolean;
}

/** The client's options without its token, as a factory returns them. */
export type DiscoveryClientConfig = Omit<DiscoveryClientOptions, 'name'>;

/** A class that `registerAsync({ useClass })` / `useExisting` instantiates to get one client's options. */
export interface DiscoveryClientOptionsFactory {
  createClientOptions(): DiscoveryClientConfig | Promise<DiscoveryClientConfig>;
}

/** One `DiscoveryClientsModule.registerAsync([...])` entry. */
export interface DiscoveryClientAsyncOptions extends Pick<ModuleMetadata, 'imports'> {
  name: string | symbol;
  useFactory?: (...args: any[]) => DiscoveryClientConfig | Promise<DiscoveryClientConfig>;
  inject?: FactoryProvider['inject'];
  useClass?: Type<DiscoveryClientOptionsFactory>;
  useExisting?: Type<DiscoveryClientOptionsFactory>;
}
