/** What an HTTP attempt's failure or answer says, for the decisions of the call path. */

/** Failures that show a request never reached its instance: it may go to another, whatever its method. */
const NEVER_REACHED = new Set(['ECONNREFUSED', 'UND_ERR_CONNECT_TIMEOUT', 'EHOSTUNREACH', 'ENETUNREACH']);

export function neverReached(error: unknown): boolean {
  for (let cause = error, depth = 0; cause instanceof Error && depth < 4; cause = cause.cause, depth += 1) {
    const code = (cause as NodeJS.ErrnoException).code;
    if (code !== undefined && NEVER_REACHED.has(code)) return true;
  }
  return false;
}

/** The wait a 503's `Retry-After` asks for, in ms: seconds, or an HTTP date; undefined when absent or unreadable. */
export function retryAfterMs(header: string | null): number | undefined {
  if (header === null || header.trim() === '') return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return seconds > 0 ? seconds * 1000 : undefined;
  const at = Date.parse(header);
  return Number.isNaN(at) || at <= Date.now() ? undefined : at - Date.now();
}
