import type { EndpointFilter } from '../picking/subset.js';

/** Options of one `DiscoveryClient.call()`; what is not given comes from `calls` in the module options. */
export interface CallOptions {
  /** The longest the whole call may take; then it rejects with `CallTimeoutError`. @default calls.timeoutMs (10000) */
  timeoutMs?: number;
  /** The longest one attempt may go without an answer. @default calls.attemptTimeoutMs (2000) */
  attemptTimeoutMs?: number;
  /**
   * The call may run twice without harm (a read, a put of the same value): after an attempt timeout
   * it moves on to another endpoint, and it is hedged. Otherwise only a connection that failed
   * before any answer (it never reached the instance) is tried again elsewhere.
   * @default false
   */
  idempotent?: boolean;
  /** Other endpoints a call may try after failures. @default 2 */
  retries?: number;
  /** The key for `ConsistentHashStrategy`. */
  key?: string;
  /** Only endpoints of this subset. */
  where?: EndpointFilter;
}
