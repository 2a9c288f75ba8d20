import { EtcdAuthenticationFailedError, EtcdLeaseInvalidError, EtcdPermissionDeniedError } from 'etcd3';

// What kind of failure an etcd error is. How it reads in a log line is failure-words.ts' job.

/**
 * etcd refused the credentials or the permission: retrying will not cure it, so start-up fails at
 * once with what to fix instead of waiting out its timeout.
 */
export function isRefusal(error: unknown): boolean {
  return error instanceof EtcdAuthenticationFailedError || error instanceof EtcdPermissionDeniedError;
}

/** etcd no longer knows the lease a write used (expired, revoked, or its data wiped). */
export function isLeaseGone(error: unknown): boolean {
  return error instanceof EtcdLeaseInvalidError;
}

/**
 * etcd3's per-host circuit breaker answers "Execution prevented because the circuit breaker is
 * open" for a while after a few failures. That says nothing about what is wrong; messages keep the
 * error that opened the circuit instead.
 */
function isCircuitOpen(error: unknown): boolean {
  return (
    error instanceof Error && (error.name === 'BrokenCircuitError' || error.message.includes('circuit breaker is open'))
  );
}

/** The error worth reporting: `latest`, unless it only says that the circuit is open. */
export function informativeError<T>(latest: T, previous: T | undefined): T {
  return isCircuitOpen(latest) && previous !== undefined ? previous : latest;
}

/** etcd no longer keeps the revision a read asked for: compacted away. */
export function isCompacted(error: unknown): boolean {
  return error instanceof Error && error.message.includes('required revision has been compacted');
}

/**
 * The member that served a read has not reached the revision it asked for yet (a serializable read of a member behind).
 */
export function isFutureRevision(error: unknown): boolean {
  return error instanceof Error && error.message.includes('required revision is a future revision');
}
