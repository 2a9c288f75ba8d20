/**
 * The few values of `@nestjs/microservices` the library reads without needing the package itself, so that an
 * HTTP-only app, which does not install it, loads the library all the same. The same in Nest 11 and 12;
 * nest-microservices.spec.ts checks them against the installed package.
 */

/** The metadata keys of `@MessagePattern()` / `@EventPattern()` (Nest's constants of the same names). */
export const PATTERN_METADATA = 'microservices:pattern';
export const PATTERN_HANDLER_METADATA = 'microservices:handler_type';
export const TRANSPORT_METADATA = 'microservices:transport';

/** Nest's `PatternHandler.EVENT`: the handler type `@EventPattern()` stores (`MESSAGE` is 1). */
export const EVENT_HANDLER = 2;

/** Nest's `Transport` enum, value → name. */
export const TRANSPORT_NAMES: readonly string[] = ['TCP', 'REDIS', 'NATS', 'MQTT', 'GRPC', 'RMQ', 'KAFKA'];
export const TCP_TRANSPORT = 0;
export const GRPC_TRANSPORT = 4;

/** The error a failed `import()` of `@nestjs/microservices` (or a file that imports it) gives when it is missing. */
export function isMicroservicesMissing(error: unknown): boolean {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  return (
    (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') &&
    typeof message === 'string' &&
    message.includes("'@nestjs/microservices")
  );
}
