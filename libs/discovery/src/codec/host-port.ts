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
  return parsePlainHostPort(text) ?? parseAnyAddress(text);
}

/**
 * The common case, read without a regular expression or a copy: every watch event of every app
 * decodes one address, and in a fleet bench of 250 apps per process the general reading below was
 * a tenth of what an app spent on a change. Undefined when `text` is anything but `host:port`.
 */
function parsePlainHostPort(text: string): { host: string; port: number } | undefined {
  const colon = text.lastIndexOf(':');
  const digits = text.length - colon - 1;
  if (colon <= 0 || digits < 1 || digits > 5) return undefined;
  let port = 0;
  for (let index = colon + 1; index < text.length; index += 1) {
    const digit = text.charCodeAt(index) - 48;
    if (digit < 0 || digit > 9) return undefined;
    port = port * 10 + digit;
  }
  for (let index = 0; index < colon; index += 1) {
    if (!plainHostChar(text.charCodeAt(index))) return undefined;
  }
  return isValidPort(port) ? { host: text.slice(0, colon), port } : undefined;
}

/** Letters, digits, `.`, `-` and `_`: a name or an IPv4 address, nothing a URL or IPv6 form would hold. */
function plainHostChar(code: number): boolean {
  return (
    (code >= 97 && code <= 122) ||
    (code >= 65 && code <= 90) ||
    (code >= 48 && code <= 57) ||
    code === 46 ||
    code === 45 ||
    code === 95
  );
}

function parseAnyAddress(text: string): { host: string; port: number } | undefined {
  const withoutScheme = text.trim().replace(/^[a-z][a-z0-9+.-]*:\/\//i, '');
  const authority = withoutScheme.split(/[/?#]/, 1)[0] ?? '';
  const hostPort = authority.slice(authority.lastIndexOf('@') + 1);
  const match = /^\[([^\]]+)\]:(\d+)$/.exec(hostPort) ?? /^([^:[\]]+):(\d+)$/.exec(hostPort);
  if (!match) return undefined;
  const host = match[1];
  const port = Number(match[2]);
  return isValidHost(host) && isValidPort(port) ? { host, port } : undefined;
}
