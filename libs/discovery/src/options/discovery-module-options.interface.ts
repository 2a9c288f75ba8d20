import type { IOptions } from 'etcd3';

/** How the app behaves when etcd cannot be reached at start-up. */
export type RegistrationMode = 'fail-fast' | 'background';

/** Backoff between attempts to (re-)register: capped exponential with full jitter. */
export interface RetryOptions {
  /**
   * Upper bound of the first delay; each later attempt doubles it, up to `maxDelayMs`.
   * @default 200
   */
  initialDelayMs?: number;
  /**
   * Cap of the delay between two attempts.
   * @default 5000
   */
  maxDelayMs?: number;
}

/** Options of `DiscoveryModule.forRoot()` / `forRootAsync()`. */
export interface DiscoveryModuleOptions {
  /**
   * Options of the etcd3 client (`auth`, `credentials`, `grpcOptions`, `faultHandling` …), passed
   * through unchanged. `hosts` is a string or an array of `host:port` / `http(s)://host:port`.
   * @default { hosts: process.env.ETCD_HOSTS split on "," }
   */
  etcd?: Partial<IOptions>;
  /**
   * Key prefix under which services are stored: `<namespace>/<service>/<instance id>`.
   * @default '/services'
   */
  namespace?: string;
  /**
   * Lease TTL in seconds. An instance that dies disappears from etcd at most this long after
   * its last keepalive; keepalives are sent every `ttl / 3` seconds.
   * @default 10
   */
  ttl?: number;
  /**
   * `'fail-fast'`: the app fails to start with a clear error when etcd cannot be reached within
   * `connectTimeoutMs`. `'background'`: the app starts, and registration retries until etcd answers.
   * @default 'fail-fast'
   */
  registration?: RegistrationMode;
  /**
   * How long start-up waits for etcd in `'fail-fast'` mode, and the deadline of each etcd call the
   * registry makes.
   * @default 5000
   */
  connectTimeoutMs?: number;
  /**
   * Delay between removing the registrations and closing the servers at shutdown, so that callers
   * that picked this instance just before it left can still finish.
   * @default 0
   */
  drainMs?: number;
  /** Backoff between registration attempts while etcd is unreachable. */
  retry?: RetryOptions;
}

/** The options with every default applied and every value checked: what the library runs on. */
export interface ResolvedDiscoveryOptions {
  etcd: IOptions & { hosts: string[] };
  namespace: string;
  ttl: number;
  registration: RegistrationMode;
  connectTimeoutMs: number;
  drainMs: number;
  retry: Required<RetryOptions>;
}
