/** Thrown at module init when the options or a @Discoverable() declaration are invalid. */
export class DiscoveryOptionsError extends Error {
  override readonly name = 'DiscoveryOptionsError';
}

/** Thrown when etcd cannot be reached in time at start-up (registration mode 'fail-fast'). */
export class EtcdUnavailableError extends Error {
  override readonly name = 'EtcdUnavailableError';
}

/**
 * Thrown by `ServiceRegistry.register()` once the application is shutting down, and the rejection of
 * a registration (or a wait for the lease) still pending when the registry closes.
 */
export class RegistryClosedError extends Error {
  override readonly name = 'RegistryClosedError';
}

/**
 * Thrown by `DiscoveryClient.waitFor()`, and by `pick()`/`getEndpoints()` for a service never read
 * before, once the application is shutting down.
 */
export class DiscoveryClosedError extends Error {
  override readonly name = 'DiscoveryClosedError';
}

/**
 * Thrown by `pick()` (and the client proxies) when a service has no endpoint that may be picked;
 * by a client that routes by pattern, when no instance handles the pattern (then `pattern` names it,
 * and `service` is the first service that handles it, or '' when none does).
 */
export class NoEndpointAvailableError extends Error {
  override readonly name = 'NoEndpointAvailableError';

  constructor(
    readonly service: string,
    message: string,
    readonly pattern?: string,
  ) {
    super(message);
  }
}

/** Thrown by `waitFor()` and by bootstrap's wait for required services when the time is up. */
export class DiscoveryTimeoutError extends Error {
  override readonly name = 'DiscoveryTimeoutError';
}

/**
 * A call through discovery (`call()`, `fetch()`, a `DiscoveryClientsModule` client's `send()`) got no
 * answer in time: within its `timeoutMs`, or within `attemptTimeoutMs` when it could not try another
 * instance. Names the service and the instances it tried.
 */
export class CallTimeoutError extends Error {
  override readonly name = 'CallTimeoutError';

  constructor(
    readonly service: string,
    /** The instances the call tried, in order (`host:port`), one per attempt. */
    readonly tried: readonly string[],
    message: string,
  ) {
    super(message);
  }

  /** How many attempts the call made. */
  get attempts(): number {
    return this.tried.length;
  }
}
