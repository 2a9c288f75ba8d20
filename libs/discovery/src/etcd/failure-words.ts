import { isRefusal } from './etcd-errors.js';

/**
 * What went wrong talking to etcd, in words a user knows — `etcd at 127.0.0.1:2379 is unreachable:
 * connection refused` — instead of gRPC's status text (`14 UNAVAILABLE: No connection established.
 * Last error: … Resolution note: `) or etcd3's circuit breaker (`Execution prevented because the
 * circuit breaker is open`), which names no cause. Pass the most informative error there is (see
 * `informativeError`); an open circuit alone reads as unreachable.
 */
export function describeEtcdFailure(error: unknown, hosts: readonly string[]): string {
  const text = error instanceof Error ? error.message : String(error);
  const at = hosts.join(', ');
  if (isRefusal(error)) return `etcd at ${at} refused the request: ${text}`;
  const refused = /ECONNREFUSED (\S+?)\.?(?:\s|$)/.exec(text);
  if (refused) return `etcd at ${refused[1]} is unreachable: connection refused`;
  const unresolved = /(?:ENOTFOUND|EAI_AGAIN) (\S+?)\.?(?:\s|$)/.exec(text);
  if (unresolved) return `etcd host ${unresolved[1]} cannot be resolved (DNS)`;
  if (/ECONNRESET|Connection dropped|socket hang up/i.test(text)) return `etcd at ${at} closed the connection`;
  if (/certificate|SSL|TLS|handshake/i.test(text))
    return `etcd at ${at}: the TLS handshake failed (${lastError(text)})`;
  if (/DEADLINE_EXCEEDED|Deadline exceeded|ETIMEDOUT|timed out/i.test(text))
    return `etcd at ${at} did not answer in time`;
  if (/UNAVAILABLE|circuit breaker is open|No connection established/i.test(text))
    return `etcd at ${at} is unreachable`;
  return error instanceof Error ? `${error.name}: ${text}` : text;
}

/** The cause gRPC wraps in "Last error: …", else the message itself. */
function lastError(text: string): string {
  const match = /Last error: (?:Error: )?(.*?)\.?(?: Resolution note:.*)?$/.exec(text);
  return (match?.[1] ?? text).trim();
}

/** `Name: message`, for log lines and error messages. */
export function describeError(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
