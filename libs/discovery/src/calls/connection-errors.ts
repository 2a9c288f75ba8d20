/**
 * Whether a call failed because the instance could not be reached or went away before replying —
 * the only failures worth another instance, and the ones outlier ejection counts. Errors the
 * remote handler raised arrive deserialized (plain objects or strings), never as an Error with a
 * socket code, and are never retried. `fetch()` wraps the socket error as the cause of
 * `TypeError: fetch failed`; undici names its own timeouts and closed sockets.
 */
const connectionCodes = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ECONNABORTED',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
]);

export function isConnectionError(error: unknown): boolean {
  for (let cause = error, depth = 0; cause instanceof Error && depth < 4; cause = cause.cause, depth += 1) {
    const code = (cause as NodeJS.ErrnoException).code;
    if (code !== undefined && connectionCodes.has(code)) return true;
    // ClientTCP's own words for a dropped socket; AbortSignal.timeout() before any answer.
    if (cause.message === 'Connection closed' || cause.name === 'TimeoutError') return true;
  }
  return false;
}
