import { isValidHost, isValidPort } from '../options/validation.js';

/** `host:port`, with IPv6 hosts in brackets so the port stays unambiguous. */
export function formatAddress(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/**
 * Reads `host:port`, `[v6]:port` or a URL such as `grpc://host:port/path`. Returns undefined for
 * anything else (no port, port out of range, empty host).
 */
export function parseAddress(text: string): { host: string; port: number } | undefined {
  const withoutScheme = text.trim().replace(/^[a-z][a-z0-9+.-]*:\/\//i, '');
  const authority = withoutScheme.split(/[/?#]/, 1)[0] ?? '';
  const hostPort = authority.slice(authority.lastIndexOf('@') + 1);
  const match = /^\[([^\]]+)\]:(\d+)$/.exec(hostPort) ?? /^([^:[\]]+):(\d+)$/.exec(hostPort);
  if (!match) return undefined;
  const host = match[1]!;
  const port = Number(match[2]);
  return isValidHost(host) && isValidPort(port) ? { host, port } : undefined;
}
