/**
 * etcd3's per-host circuit breaker answers "Execution prevented because the circuit breaker is
 * open" for a while after a few failures. That says nothing about what is wrong; messages keep the
 * error that opened the circuit instead.
 */
export function isCircuitOpen(error: unknown): boolean {
  return error instanceof Error && (error.name === 'BrokenCircuitError' || error.message.includes('circuit breaker is open'));
}

/** The error worth reporting: `latest`, unless it only says that the circuit is open. */
export function informativeError<T>(latest: T, previous: T | undefined): T {
  return isCircuitOpen(latest) && previous !== undefined ? previous : latest;
}
