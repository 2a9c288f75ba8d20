/**
 * The stable `code` of each error the library throws: match on it (or on the class) rather than on
 * the message, whose words may change.
 */
export type DiscoveryErrorCode =
  | 'INVALID_OPTIONS'
  | 'ETCD_UNAVAILABLE'
  | 'REGISTRY_CLOSED'
  | 'REGISTRATION_WITHDRAWN'
  | 'DISCOVERY_CLOSED'
  | 'NO_ENDPOINT'
  | 'WAIT_TIMEOUT'
  | 'CALL_TIMEOUT';

/**
 * What every error the library throws extends: one class to catch, a stable `code`, and the error it
 * was made from (etcd3's or gRPC's, say) as `cause`.
 */
export abstract class DiscoveryError extends Error {
  abstract readonly code: DiscoveryErrorCode;
}

/** Thrown at module init when the options or a @Discoverable() declaration are invalid. */
export class DiscoveryOptionsError extends DiscoveryError {
  override readonly name = 'DiscoveryOptionsError';
  readonly code = 'INVALID_OPTIONS';
}

/** Thrown when etcd cannot be reached in time at start-up (registration mode 'fail-fast'). */
export class EtcdUnavailableError extends DiscoveryError {
  override readonly name = 'EtcdUnavailableError';
  readonly code = 'ETCD_UNAVAILABLE';
}

/**
 * Thrown by `ServiceRegistry.register()` once the application is shutting down, and the rejection of
 * a registration (or a wait for the lease) still pending when the registry closes.
 */
export class RegistryClosedError extends DiscoveryError {
  override readonly name = 'RegistryClosedError';
  readonly code = 'REGISTRY_CLOSED';
}

/** The rejection of a `ServiceRegistry.register()` whose registration was deregistered before it was stored. */
export class RegistrationWithdrawnError extends DiscoveryError {
  override readonly name = 'RegistrationWithdrawnError';
  readonly code = 'REGISTRATION_WITHDRAWN';
}

/**
 * Thrown by `DiscoveryClient.waitFor()`, and by `pick()`/`getEndpoints()` for a service never read
 * before, once the application is shutting down.
 */
export class DiscoveryClosedError extends DiscoveryError {
  override readonly name = 'DiscoveryClosedError';
  readonly code = 'DISCOVERY_CLOSED';
}

/**
 * Thrown by `pick()` (and the client proxies) when a service has no endpoint that may be picked;
 * by a client that routes by pattern, when no instance handles the pattern (then `pattern` names it,
 * and `service` is the first service that handles it, or '' when none does).
 */
export class NoEndpointAvailableError extends DiscoveryError {
  override readonly name = 'NoEndpointAvailableError';
  readonly code = 'NO_ENDPOINT';

  constructor(
    readonly service: string,
    message: string,
    readonly pattern?: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** Thrown by `waitFor()` and by bootstrap's wait for required services when the time is up. */
export class DiscoveryTimeoutError extends DiscoveryError {
  override readonly name = 'DiscoveryTimeoutError';
  readonly code = 'WAIT_TIMEOUT';
}

/**
 * A call through discovery (`call()`, `fetch()`, a `DiscoveryClientsModule` client's `send()`) got no
 * answer in time: within its `timeoutMs`, or within `attemptTimeoutMs` when it could not try another
 * instance. Names the service and the instances it tried.
 */
export class CallTimeoutError extends DiscoveryError {
  override readonly name = 'CallTimeoutError';
  readonly code = 'CALL_TIMEOUT';

  constructor(
    readonly service: string,
    /** The instances the call tried, in order (`host:port`), one per attempt. */
    readonly tried: readonly string[],
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }

  /** How many attempts the call made. */
  get attempts(): number {
    return this.tried.length;
  }
}
