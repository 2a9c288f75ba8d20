import { DiscoveryService as NestDiscoveryService } from '@nestjs/core';

/** Options of `@Discoverable(name, options)`; everything not given is derived from the running server. */
export interface DiscoverableOptions {
  /** Port to advertise. @default the port the app's TCP microservice, or else its HTTP server, listens on */
  port?: number;
  /**
   * Host to advertise. @default the address the server is bound to; for 0.0.0.0/:: the machine's
   * first non-internal IPv4 address
   */
  host?: string;
  /** Instance id, the last key segment. @default `host:port` */
  id?: string;
  /** Free-form string metadata stored with the endpoint. @default {} */
  metadata?: Record<string, string>;
  /** Weight for weighted balancing; 0 = never picked. @default 1 */
  weight?: number;
  version?: string;
  zone?: string;
  /**
   * Services this one calls: watched from bootstrap, so that the first `pick()` sees them (the
   * `RequiredServices` of the design). Not stored in etcd. @default []
   */
  requires?: string[];
  /**
   * Publish the patterns of the class's `@MessagePattern()` / `@EventPattern()` handlers (stored as
   * `Metadata.patterns` / `Metadata.events`), for the catalog and for clients that route by pattern.
   * A class with no handlers of its own stands for the whole app: it publishes those of every
   * controller of the app that is not itself a `@Discoverable()` class with handlers.
   * @default true
   */
  publishPatterns?: boolean;
}

/** What the decorator stores on the class. */
export interface DiscoverableDeclaration extends DiscoverableOptions {
  name: string;
}

export const DiscoverableMetadata = NestDiscoveryService.createDecorator<DiscoverableDeclaration>();

/**
 * Marks a controller or provider class as the entry point of service `name`: once the app accepts
 * connections, this process registers itself in etcd under `<namespace>/<name>/<id>`, and it is
 * removed again before the app's servers close. Classes that are neither providers nor controllers
 * of a module are not seen.
 */
export function Discoverable(name: string, options: DiscoverableOptions = {}): ClassDecorator {
  return DiscoverableMetadata({ ...options, name });
}
