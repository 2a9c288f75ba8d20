import type { ServiceEndpoint } from '../service-endpoint.interface.js';
import { isValidPort } from '../options/validation.js';
import { formatAddress, parseAddress } from './host-port.js';
import { parseEndpointKey } from './endpoint-key.js';

/**
 * The value the registry writes, in the layout of etcd's gRPC naming (`naming/endpoints` in Go):
 * `Addr` is `host:port`, and `Metadata` (free-form for Go) carries the rest.
 */
export interface StoredEndpointValue {
  Addr: string;
  Metadata: {
    service: string;
    id: string;
    weight: number;
    version?: string;
    zone?: string;
    /** Absent when `'up'`, so that readers that know nothing of it are unaffected. */
    status?: 'draining' | 'down';
    /** Message and event patterns the instance handles; absent when it publishes none. */
    patterns?: string[];
    events?: string[];
    /** When the key was written under its current lease, ms since the epoch. */
    registeredAt?: number;
    metadata: Record<string, string>;
  };
}

/** The value the registry stores for `endpoint` (a `StoredEndpointValue`, as JSON). */
export function encodeEndpoint(endpoint: ServiceEndpoint): string {
  const value: StoredEndpointValue = {
    Addr: endpoint.address,
    Metadata: {
      service: endpoint.service,
      id: endpoint.id,
      weight: endpoint.weight,
      ...(endpoint.version === undefined ? {} : { version: endpoint.version }),
      ...(endpoint.zone === undefined ? {} : { zone: endpoint.zone }),
      ...(endpoint.status === undefined || endpoint.status === 'up' ? {} : { status: endpoint.status }),
      ...(endpoint.patterns === undefined || endpoint.patterns.length === 0
        ? {}
        : { patterns: [...endpoint.patterns] }),
      ...(endpoint.events === undefined || endpoint.events.length === 0 ? {} : { events: [...endpoint.events] }),
      ...(endpoint.registeredAt === undefined ? {} : { registeredAt: endpoint.registeredAt }),
      metadata: endpoint.metadata,
    },
  };
  return JSON.stringify(value);
}

/** What `decodeEndpoint()` read: the endpoint, or why the value could not be read. */
export type DecodeResult = { ok: true; endpoint: ServiceEndpoint } | { ok: false; reason: string };

const reservedMetadataKeys = new Set([
  'service',
  'id',
  'weight',
  'version',
  'zone',
  'status',
  'patterns',
  'events',
  'registeredAt',
  'metadata',
]);

/**
 * Reads one key/value under `namespace`, tolerantly: besides what `encodeEndpoint` writes, it reads
 * what Go programs commonly store — etcd naming JSON with any `Metadata` (also the older
 * `{"Op":0,"Addr":…}` form), go-kratos' `{"id","endpoints":["grpc://h:p"]}`, `{"host","port"}`,
 * a plain `host:port` or URL, and an empty value whose last key segment is `host:port`.
 * Never throws: anything else is `{ ok: false, reason }` for the caller to skip with a warning.
 */
export function decodeEndpoint(namespace: string, key: string, value: string): DecodeResult {
  const parsedKey = parseEndpointKey(namespace, key);
  if (!parsedKey) return fail(`the key is not <namespace>/<service>/<id>`);
  const { service, id: keyId } = parsedKey;
  const path = `/${service}/${keyId}/`;
  if (path.includes('//') || path.includes('/./') || path.includes('/../'))
    return fail(`the key has an empty, "." or ".." segment`);
  const lastSegment = keyId.slice(keyId.lastIndexOf('/') + 1);
  const text = value.trim();

  if (text.length === 0) {
    const address = parseAddress(lastSegment);
    return address ? build(service, keyId, address, {}) : fail(`empty value and the key does not end in host:port`);
  }
  if (!text.startsWith('{')) {
    const address = parseAddress(text);
    return address ? build(service, keyId, address, {}) : fail(`the value is neither JSON nor host:port nor a URL`);
  }

  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return fail(`the value is not valid JSON`);
  }
  if (!isRecord(json)) return fail(`the JSON value is not an object`);
  const address = addressOf(json);
  if (!address) return fail(`no usable address (Addr, endpoints, or host and port) in the JSON value`);
  const meta = isRecord(json.Metadata) ? json.Metadata : isRecord(json.metadata) ? { metadata: json.metadata } : {};
  return build(service, keyId, address, {
    id: stringOr(meta.id, stringOr(json.id, undefined)),
    weight: meta.weight ?? json.weight,
    version: stringOr(meta.version, stringOr(json.version, undefined)),
    zone: stringOr(meta.zone, stringOr(json.zone, undefined)),
    status: meta.status === 'draining' || meta.status === 'down' ? meta.status : undefined,
    patterns: stringsOf(meta.patterns),
    events: stringsOf(meta.events),
    registeredAt:
      typeof meta.registeredAt === 'number' && Number.isFinite(meta.registeredAt) ? meta.registeredAt : undefined,
    metadata: metadataOf(meta),
  });
}

function addressOf(json: Record<string, unknown>): { host: string; port: number } | undefined {
  if (typeof json.Addr === 'string') return parseAddress(json.Addr);
  if (Array.isArray(json.endpoints)) {
    const first = json.endpoints.find((entry): entry is string => typeof entry === 'string');
    return first === undefined ? undefined : parseAddress(first);
  }
  const host = json.host ?? json.address;
  const port = typeof json.port === 'string' ? Number(json.port) : json.port;
  if (typeof host === 'string' && isValidPort(port)) return parseAddress(formatAddress(host, port));
  return undefined;
}

/** Our own layout nests user metadata under `metadata`; Go services often use a flat string map. */
function metadataOf(meta: Record<string, unknown>): Record<string, string> {
  const source = isRecord(meta.metadata) ? meta.metadata : meta;
  const skipReserved = source === meta;
  const result: Record<string, string> = {};
  for (const name in source) {
    const value = source[name];
    if (typeof value === 'string' && Object.hasOwn(source, name) && !(skipReserved && reservedMetadataKeys.has(name)))
      result[name] = value;
  }
  return result;
}

/** The fields of an endpoint that a stored value may leave out. */
type OptionalField = 'version' | 'zone' | 'status' | 'patterns' | 'events' | 'registeredAt';

function build(
  service: string,
  keyId: string,
  address: { host: string; port: number },
  extra: Partial<Pick<ServiceEndpoint, OptionalField | 'id' | 'metadata'>> & { weight?: unknown },
): DecodeResult {
  const weight = extra.weight ?? 1;
  if (typeof weight !== 'number' || !Number.isFinite(weight) || weight < 0) {
    return fail(`weight ${JSON.stringify(weight)} is not a number ≥ 0`);
  }
  const endpoint: ServiceEndpoint = {
    service,
    id: extra.id ?? keyId,
    host: address.host,
    port: address.port,
    address: formatAddress(address.host, address.port),
    metadata: extra.metadata ?? {},
    weight,
  };
  // Only the fields the value has: an endpoint without them is what it was before they existed.
  if (extra.version !== undefined) endpoint.version = extra.version;
  if (extra.zone !== undefined) endpoint.zone = extra.zone;
  if (extra.status !== undefined) endpoint.status = extra.status;
  if (extra.patterns !== undefined) endpoint.patterns = extra.patterns;
  if (extra.events !== undefined) endpoint.events = extra.events;
  if (extra.registeredAt !== undefined) endpoint.registeredAt = extra.registeredAt;
  return { ok: true, endpoint };
}

function fail(reason: string): DecodeResult {
  return { ok: false, reason };
}

/** The strings of a stored pattern list, sorted and once each; anything else in it is left out (tolerant reading). */
function stringsOf(value: unknown): string[] | undefined {
  if (!Array.isArray(value)) return undefined;
  const strings = value.filter((entry): entry is string => typeof entry === 'string' && entry.length > 0);
  return strings.length === 0 ? undefined : [...new Set(strings)].sort();
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function stringOr(value: unknown, fallback: string | undefined): string | undefined {
  return typeof value === 'string' && value.length > 0 ? value : fallback;
}
