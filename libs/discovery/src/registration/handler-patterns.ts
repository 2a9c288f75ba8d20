import type { Type } from '@nestjs/common';
import { MetadataScanner } from '@nestjs/core';
import { normalisedPattern } from '../codec/normalised-pattern.js';
import {
  EVENT_HANDLER,
  GRPC_TRANSPORT,
  PATTERN_HANDLER_METADATA,
  PATTERN_METADATA,
  TRANSPORT_METADATA,
} from '../util/nest-microservices.js';

/** The patterns a class's handlers answer (`@MessagePattern`) and take (`@EventPattern`), sorted, once each. */
export interface HandlerPatterns {
  patterns: string[];
  events: string[];
}

const scanner = new MetadataScanner();

/**
 * Reads the `@MessagePattern()` / `@EventPattern()` handlers of `classes` from the metadata Nest's
 * decorators store, and normalises each pattern as Nest's servers route it (`normalisedPattern`),
 * so that what is published is what a ClientProxy's `send()` must match. gRPC methods
 * (`@GrpcMethod`) are left out: they are not sent by pattern.
 */
export function handlerPatterns(classes: readonly Type[]): HandlerPatterns {
  const patterns = new Set<string>();
  const events = new Set<string>();
  for (const type of classes) {
    const prototype = type.prototype as Record<string, unknown>;
    for (const name of scanner.getAllMethodNames(prototype)) {
      const handler = prototype[name];
      if (typeof handler !== 'function') continue;
      const declared = Reflect.getMetadata(PATTERN_METADATA, handler) as unknown[] | undefined;
      if (declared === undefined || Reflect.getMetadata(TRANSPORT_METADATA, handler) === GRPC_TRANSPORT) continue;
      const into = Reflect.getMetadata(PATTERN_HANDLER_METADATA, handler) === EVENT_HANDLER ? events : patterns;
      for (const pattern of declared) {
        const route = normalisedPattern(pattern);
        if (route.length > 0) into.add(route);
      }
    }
  }
  return { patterns: [...patterns].sort(), events: [...events].sort() };
}
