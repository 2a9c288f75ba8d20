import { circuitBreaker, ConsecutiveBreaker, handleWhen } from 'cockatiel';
import { isRecoverableError, type IOptions } from 'etcd3';

/**
 * The per-member fault handling of etcd3's options, tuned for a registry that must come back quickly
 * after an outage: etcd3's default circuit answers from an open circuit for 5 s after 3 failures, so
 * re-registration could lag etcd's return by 5 s; here a circuit half-opens after 1 s. Every entry the
 * user gives in `etcd.faultHandling` replaces ours. (`watchBackoff` is not used: the library's watch
 * stream re-opens after a failure within 2 s, or as soon as a member is back.)
 */
export function faultHandling(given: IOptions['faultHandling']): NonNullable<IOptions['faultHandling']> {
  return {
    host: () =>
      circuitBreaker(handleWhen(isRecoverableError), { halfOpenAfter: 1000, breaker: new ConsecutiveBreaker(3) }),
    ...given,
  };
}
