/**
 * Whether a call failed because the instance could not be reached or went away before replying —
 * the only failures worth another instance. Errors the remote handler raised arrive deserialized
 * (plain objects or strings), never as an Error with a socket code, and are never retried.
 */
const connectionCodes = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNABORTED']);

export function isConnectionError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as NodeJS.ErrnoException).code;
  return (code !== undefined && connectionCodes.has(code)) || error.message === 'Connection closed';
}
