import type { LoggerService } from '@nestjs/common';
import { decodeEndpoint } from '../codec/endpoint-codec.js';
import type { ServiceEndpoint } from '../service-endpoint.interface.js';

/**
 * Decodes the values a watch reads, tolerantly: a value that cannot be read is skipped with one
 * warning per key and value. The map of those values is the client's, shared by all its watches, so
 * that a value is warned about once whoever reads it, and a watch stopped and started again does
 * not warn again.
 */
export class TolerantDecoder {
  constructor(
    private readonly namespace: string,
    private readonly logger: LoggerService,
    private readonly unreadable: Map<string, string>,
  ) {}

  /** The endpoint a key/value describes; undefined (and one warning per key and value) when unreadable. */
  decode(key: string, value: string): ServiceEndpoint | undefined {
    const decoded = decodeEndpoint(this.namespace, key, value);
    if (decoded.ok) {
      this.unreadable.delete(key);
      return decoded.endpoint;
    }
    if (this.unreadable.get(key) !== value) {
      this.unreadable.set(key, value);
      this.logger.warn(`Skipping ${key}: ${decoded.reason} (value: ${preview(value)})`);
    }
    return undefined;
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
