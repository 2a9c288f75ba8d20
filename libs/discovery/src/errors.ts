/** Thrown at module init when the options or a @Discoverable() declaration are invalid. */
export class DiscoveryOptionsError extends Error {
  override readonly name = 'DiscoveryOptionsError';
}

/** Thrown when etcd cannot be reached in time at start-up (registration mode 'fail-fast'). */
export class EtcdUnavailableError extends Error {
  override readonly name = 'EtcdUnavailableError';
}

/** Thrown by ServiceRegistry calls made after the application began shutting down. */
export class RegistryClosedError extends Error {
  override readonly name = 'RegistryClosedError';
}
