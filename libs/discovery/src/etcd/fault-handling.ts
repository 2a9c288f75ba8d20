import { circuitBreaker, ConsecutiveBreaker, ExponentialBackoff, handleWhen } from 'cockatiel';
import { isRecoverableError, type IOptions } from 'etcd3';

/**
 * The etcd3 client's fault handling, tuned for a registry that must come back quickly after an
 * outage. etcd3's defaults answer from an open circuit for 5 s after 3 failures, and back off its
 * watch reconnects up to 30 s: after a few seconds of outage, re-registration and watches could lag
 * etcd's return by 5-15 s. Here a circuit half-opens after 1 s and watch reconnects wait at most
 * 2 s. Every entry the user gives in `etcd.faultHandling` replaces ours.
 */
type WatchBackoff = NonNullable<NonNullable<IOptions['faultHandling']>['watchBackoff']>;

export function faultHandling(given: IOptions['faultHandling']): NonNullable<IOptions['faultHandling']> {
  return {
    host: () => circuitBreaker(handleWhen(isRecoverableError), { halfOpenAfter: 1000, breaker: new ConsecutiveBreaker(3) }),
    // etcd3 1.1.2 types this as a backoff, but its watch manager calls next() on it as on cockatiel 3's
    // backoff factory, which ExponentialBackoff is (its own default is `new ExponentialBackoff()`).
    watchBackoff: new ExponentialBackoff({ initialDelay: 100, maxDelay: 2000 }) as unknown as WatchBackoff,
    ...given,
  };
}
