import type { LoggerService } from '@nestjs/common';
import { decodeEndpoint } from '../codec/endpoint-codec.js';
import { sameEndpoint, sameStrings } from './sorted-endpoints.js';
import type { ServiceEndpoint } from '../service-endpoint.interface.js';

/**
 * Decodes the values a watch reads, tolerantly: a value that cannot be read is skipped with one
 * warning per key and value. The map of those values is the client's, shared by all its watches, so
 * that a value is warned about once whoever reads it, and a watch stopped and started again does
 * not warn again.
 */
export class TolerantDecoder {
  /**
   * The pattern lists last read for each service: the instances of a service mostly publish the same,
   * and an endpoint that does gets the same arrays — one copy per service, not one per instance.
   */
  private readonly lastLists = new Map<string, { patterns?: readonly string[]; events?: readonly string[] }>();

  constructor(
    private readonly namespace: string,
    private readonly logger: LoggerService,
    private readonly unreadable: Map<string, string>,
  ) {}

  /**
   * What `key` holds after it changed to `value` (undefined: deleted, or unreadable): `previous` itself
   * when nothing a caller can see changed, so that lists keep their objects.
   */
  next(key: string, value: string | undefined, previous: ServiceEndpoint | undefined): ServiceEndpoint | undefined {
    if (value === undefined) {
      this.forget(key);
      return undefined;
    }
    const endpoint = this.decode(key, value);
    return previous !== undefined && endpoint !== undefined && sameEndpoint(previous, endpoint) ? previous : endpoint;
  }

  /** The endpoint a key/value describes; undefined (and one warning per key and value) when unreadable. */
  decode(key: string, value: string): ServiceEndpoint | undefined {
    const decoded = decodeEndpoint(this.namespace, key, value);
    if (decoded.ok) {
      this.unreadable.delete(key);
      return this.shared(decoded.endpoint);
    }
    if (this.unreadable.get(key) !== value) {
      this.unreadable.set(key, value);
      this.logger.warn(`Skipping ${key}: ${decoded.reason} (value: ${preview(value)})`);
    }
    return undefined;
  }

  private shared(endpoint: ServiceEndpoint): ServiceEndpoint {
    if (endpoint.patterns === undefined && endpoint.events === undefined) return endpoint;
    let last = this.lastLists.get(endpoint.service);
    if (last === undefined) this.lastLists.set(endpoint.service, (last = {}));
    if (sameStrings(endpoint.patterns, last.patterns)) endpoint.patterns = last.patterns;
    else last.patterns = endpoint.patterns;
    if (sameStrings(endpoint.events, last.events)) endpoint.events = last.events;
    else last.events = endpoint.events;
    return endpoint;
  }

  /** The key was deleted: a bad value written to it again is worth a warning again. */
  forget(key: string): void {
    this.unreadable.delete(key);
  }
}

/** Enough of a bad value to recognise it in a log line, never a flood. */
function preview(value: string): string {
  return JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value);
}
