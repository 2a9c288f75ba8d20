/**
 * Hedged requests: when an idempotent call's attempt has had no answer for a while, one more
 * attempt goes to another endpoint (and another after as long again, up to `maxAttempts`); the first
 * answer wins and the other attempts are aborted — `fetch()` lets them finish within their attempt timeout and
 * drops their answers, so that their keep-alive connections are kept, and sends a hedge only where a connection is
 * idle (or none is open yet).
 */
export interface HedgeOptions {
  /**
   * After how long without an answer: a fixed time in ms, or `'adaptive'`: the service's recent 95th
   * percentile response time (of its last 128 answers, one per turn of the event loop: those read together after a
   * pause of the caller count once), within `minMs` and `maxMs` — `maxMs` until 20 answers are known. No hedge from
   * a timer that fires more than 50 ms late (the caller's own event loop is busy); the hedge of a call started in the
   * 250 ms after one waits until they have passed (by half its attempt timeout at most).
   * @default 'adaptive'
   */
  afterMs?: number | 'adaptive';
  /** The earliest an adaptive hedge goes out. @default 10 */
  minMs?: number;
  /** The latest an adaptive hedge goes out. @default half of `attemptTimeoutMs` */
  maxMs?: number;
  /**
   * The most attempts one call makes by hedging, the first included: while none has answered, a further hedge goes
   * out every hedge delay, each to an instance not tried yet — a fault that hangs several instances at once costs a
   * call one more delay, not its attempt timeout. From 2 (one hedge) to 5 (gRPC's limit). @default 3
   */
  maxAttempts?: number;
  /**
   * Hedges stay under this share of the service's calls over the last 10 s, in percent (at least the budget's
   * `minPerSecond` a second): a hedge is extra load even when nothing fails, so it has a budget of its own, smaller
   * than the retry budget, and counts in that one too (gRPC throttles hedges; "The Tail at Scale" hedged 5 %). None
   * when `budget` is `false`. @default 5
   */
  budgetPercent?: number;
}

/**
 * How many retries and hedges a service's calls may make together, so that a failure of the whole
 * service does not multiply the load on it (Envoy's and Finagle's retry budgets).
 */
export interface RetryBudgetOptions {
  /** Retries and hedges, as a share of the service's calls over the last 10 s, in percent. @default 20 */
  percent?: number;
  /** Allowed per second whatever the share, so that a quiet service can still retry. @default 10 */
  minPerSecond?: number;
}

/** Deadlines, hedging and the retry budget of calls (`call()`, `fetch()`, `DiscoveryClientsModule`). */
export interface CallPolicy {
  /**
   * The longest a whole call may take, retries and hedges included; then it rejects with
   * `CallTimeoutError`. Bounds every call, so that none waits forever on a hung instance.
   * @default 10000
   */
  timeoutMs?: number;
  /**
   * The longest one attempt may go without an answer; then it is aborted, counts as a failure of
   * its endpoint (outlier ejection, the load-aware strategies), and an idempotent call moves on to
   * an endpoint not tried yet. At most `timeoutMs`.
   * @default 2000
   */
  attemptTimeoutMs?: number;
  /** Hedged requests for idempotent calls; `false` turns them off. @default { afterMs: 'adaptive' } */
  hedge?: HedgeOptions | false;
  /**
   * The retry and hedge budget; `false`: retries and hedges are never refused. @default { percent: 20, minPerSecond: 10
   * }
   */
  budget?: RetryBudgetOptions | false;
  /**
   * The most connections `fetch()` keeps to one instance of the service (HTTP/1.1 carries one request at a time on
   * each); requests beyond wait for one to be free. A bound, so that a burst — a pause of the caller, hedges going out
   * at once — never turns into hundreds of new connections. @default 64
   */
  connectionsPerInstance?: number;
}

/** `forRoot({ calls })`: the defaults of every call, and per service what differs. */
export interface DiscoveryCallsOptions extends CallPolicy {
  /** By service name: what its calls do differently from the defaults above. */
  services?: Record<string, CallPolicy>;
}

/** The policy of one service's calls, with every default applied. */
export interface ResolvedCallPolicy {
  timeoutMs: number;
  attemptTimeoutMs: number;
  hedge:
    { afterMs: number | 'adaptive'; minMs: number; maxMs: number; maxAttempts: number; budgetPercent: number } | false;
  budget: { percent: number; minPerSecond: number } | false;
  connectionsPerInstance: number;
  /** Retries of a call that says none (a traffic policy's `calls.retries`); undefined: the library's default. */
  retries?: number;
}

/** `calls`, resolved: the default policy and each service's own. */
export interface ResolvedCalls {
  defaults: ResolvedCallPolicy;
  services: ReadonlyMap<string, ResolvedCallPolicy>;
}
