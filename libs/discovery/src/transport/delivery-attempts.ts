import { catchError, finalize, tap, throwError, timeout, type Observable } from 'rxjs';
import { isConnectionError } from '../calls/connection-errors.js';
import { decideRetry } from '../calls/retry-decision.js';
import { instanceKey } from '../codec/instance-key.js';
import { messages, type NotRetried } from '../discovery.messages.js';
import { CallTimeoutError } from '../errors.js';
import type { ServiceEndpoint } from '../service-endpoint.interface.js';
import type { ClientProxyParts } from './client-proxy-parts.js';
import type { DiscoveryClientConfig } from './discovery-client-options.interface.js';
import type { Delivery, InstanceClients } from './instance-clients.js';
import type { Route } from './pattern-routes.js';
import { SendMetrics } from './send-metrics.js';

/**
 * The attempts of one message of a `DiscoveryClientProxy` on a route: each on one instance, through its
 * pooled client, counted and recorded (metrics) like a call's; a failure before any reply that is the
 * instance's moves the message on to another. Apart from the proxy, which decides where a message goes:
 * this carries it there.
 */
export class DeliveryAttempts {
  constructor(
    private readonly config: Pick<DiscoveryClientConfig, 'timeoutMs' | 'retryOnTimeout' | 'keyOf'> & {
      retries: number;
    },
    private readonly parts: ClientProxyParts,
    private readonly pool: InstanceClients,
  ) {}

  /**
   * Runs the call on `endpoint` (first: the strategy's pick). A failure before any reply that is the
   * connection's — or a send's timeout, with `retryOnTimeout` — moves it to an instance not tried
   * yet, within `retries` and the service's retry budget.
   */
  deliver<T>(
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
    const timeoutMs = this.config.timeoutMs ?? attempts.policyOf(service).policy.attemptTimeoutMs;
    // A reply (or, for an event, its sending) within timeoutMs: an instance that hangs never holds its caller longer.
    const replies = delivery
      .run(this.pool.for(endpoint))
      .pipe(timeout({ first: timeoutMs, with: () => throwError(() => new CallTimeoutError(service, [...tried], '')) }));
    return replies.pipe(
      // The send is answered at its first reply (a caller's firstValueFrom() unsubscribes right after it).
      tap({ next: () => answered(), complete: () => (answered(), attempt.finish('answered')) }),
      // Unsubscribed before an end: after a reply (firstValueFrom() leaves right after it) the instance
      // answered — outlier ejection hears it; before any, the caller gave up.
      finalize(() =>
        attempt.hasAnswered
          ? attempt.finish('answered')
          : attempt.finish('abandoned') && send?.abandoned(endpoint.address),
      ),
      catchError((error: unknown) => {
        // Before any reply, a timeout or a failure of the connection is the instance's; anything else is its answer.
        const replied = attempt.hasAnswered;
        const timedOut = !replied && error instanceof CallTimeoutError;
        const unreachable = !replied && !timedOut && isConnectionError(error);
        attempt.finish(
          timedOut ? 'timeout' : unreachable ? 'unreachable' : 'answered',
          !replied && !timedOut && !unreachable,
        );
        if (!timedOut && !unreachable) {
          if (!replied) send?.attemptEnded(endpoint.address, 'error', 'error');
          throw error;
        }
        // Unreachable or silent: its connection is of no use until it comes back.
        this.pool.close(instance);
        const notRetried = (why: NotRetried) => {
          send?.gaveUp(endpoint.address, timedOut, why);
          if (!timedOut) return error;
          const message = delivery.awaitsReply
            ? messages.sendTimedOut(service, timeoutMs, [...tried], why)
            : messages.emitTimedOut(service, timeoutMs, [...tried]);
          return new CallTimeoutError(service, [...tried], message);
        };
        const decision = decideRetry({
          // An event is never sent twice after a timeout: it may have arrived. A send is, with `retryOnTimeout`.
          mayRepeat: !timedOut || (delivery.awaitsReply && this.config.retryOnTimeout === true),
          attempts: tried.size,
          retries: this.config.retries, // its own, as a call's option is: a traffic policy's `retries` leaves it
          untried: () => attempts.next(service, tried, this.keyOf(pattern, data), route.where),
          fromBudget: () => attempts.policyOf(service).mayTryAgain(),
        });
        if ('notRetried' in decision) throw notRetried(decision.notRetried);
        send?.attemptEnded(endpoint.address, timedOut ? 'timeout' : 'unreachable');
        return this.deliver(route, pattern, data, tried, delivery, decision.next);
      }),
    );
  }

  private keyOf(pattern: unknown, data: unknown): string | undefined {
    return this.config.keyOf?.(pattern, data);
  }
}
