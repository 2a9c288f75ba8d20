import type { EndpointFilter } from '../picking/subset.js';
import type { ServiceEndpoint } from '../service-endpoint.interface.js';
import type { Attempt } from './attempt.js';
import type { CallRecord } from './call-record.js';
import type { LazyAttemptContext } from './attempt-signal.js';

/** What each attempt of a call is given besides its endpoint. */
export interface AttemptContext {
  /** Aborted when the attempt is given up: its timeout, a hedge that answered first, the call's deadline. */
  signal: AbortSignal;
  /** 1 for the first attempt, 2 for the next (a retry or a hedge), … */
  attempt: number;
}

/** How one call runs: its deadlines and what may be tried again. */
export interface RunSettings<T> {
  timeoutMs: number;
  attemptTimeoutMs: number;
  /** May run twice: retried after a timeout, and hedged. Any call is retried when it never reached its instance. */
  idempotent: boolean;
  /** Other endpoints a call may try after failures. */
  retries: number;
  key: string | undefined;
  where: EndpointFilter | undefined;
  /**
   * An answer that is a failure worth another instance (a 503): tried again when the call may; else it is the result.
   */
  failedAnswer?: (value: T) => boolean;
  /** Releases an answer that will not be the result (a 503 another instance did better than: its body). */
  discard?: (value: T) => void;
  /**
   * Attempts still in flight when another answered are let finish (within their attempt timeout), their answers
   * discarded, rather than aborted: an HTTP/1.1 request aborted mid-way costs its connection, and hedges whose losers
   * each opened a new one fed a caller's overload (needs `discard`).
   */
  losersFinish?: boolean;
  /**
   * Whether a hedge may go to `endpoint` now (`fetch()`: it has no connection yet, none in use, or two or more idle).
   * A hedge rides what is open and never grows a pool in use: hedges sent in a pause of the caller, each on a new
   * connection, added to the load that made them late; one that took an instance's last idle connection made its next
   * call open one. An endpoint it refuses is passed over for another not tried yet.
   */
  hedgeFits?: (endpoint: ServiceEndpoint) => boolean;
  /**
   * For a call that is not idempotent: whether a connection error shows that the request never
   * reached its instance (refused), so that another instance may be tried. Without it, every
   * connection error before an answer is taken for one.
   */
  neverReached?: (error: unknown) => boolean;
  /** Its span's name before the service's: `call` unless the way of calling says (`fetch`). */
  spanName?: string;
}

/** What a call run asks of the call path: endpoints to try, and the bookkeeping of each attempt (`CallAttempts`). */
export interface AttemptSource {
  first(
    service: string,
    key: string | undefined,
    where: EndpointFilter | undefined,
    telemetry?: CallRecord,
  ): ServiceEndpoint;
  next(
    service: string,
    tried: ReadonlySet<string>,
    key: string | undefined,
    where: EndpointFilter | undefined,
  ): ServiceEndpoint | undefined;
  start(endpoint: ServiceEndpoint): Attempt;
  /** The record (metrics, span) of a call that starts now. */
  telemetryOf(service: string, spanName: string): CallRecord;
}

/** One attempt of a call in flight. */
export interface Running {
  readonly endpoint: ServiceEndpoint;
  readonly record: Attempt;
  readonly context: LazyAttemptContext;
  readonly isHedge: boolean;
  /** Its hedge's timer, then its timeout's. */
  timer: NodeJS.Timeout | undefined;
  done: boolean;
  /** Silent past its hedge's delay: if another attempt answers first, it counts as a timeout of its instance. */
  overdue?: boolean;
}
