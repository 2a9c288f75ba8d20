import type { MsPattern } from '@nestjs/microservices';
import { transformPatternToRoute } from '@nestjs/microservices/utils/transform-pattern.utils.js';

/**
 * A message or event pattern as Nest routes it, and as it is published and looked up: a string as it
 * is, an object as JSON with its keys sorted (`{ v: 2, cmd: 'sum' }` → `{"cmd":"sum","v":2}`) —
 * Nest's own `transformPatternToRoute`, which both its servers and its ClientProxies apply.
 */
export function normalisedPattern(pattern: unknown): string {
  return typeof pattern === 'string' ? pattern : String(transformPatternToRoute(pattern as MsPattern));
}
