import { messages } from '../discovery.messages.js';
import { DiscoveryOptionsError } from '../errors.js';

/** Checks shared by the module options, @Discoverable() and ServiceRegistry.register(). */

export function assertServiceName(name: unknown, origin: string): asserts name is string {
  if (typeof name !== 'string' || name.length === 0 || name.includes('/') || name === '.' || name === '..') {
    throw new DiscoveryOptionsError(messages.badServiceName(name, origin));
  }
}

export function assertInstanceId(id: unknown, service: string): asserts id is string {
  if (typeof id !== 'string' || id.length === 0 || id.includes('/')) {
    throw new DiscoveryOptionsError(messages.badInstanceId(id, service));
  }
}

export function isValidPort(port: unknown): port is number {
  return typeof port === 'number' && Number.isInteger(port) && port >= 1 && port <= 65535;
}

export function assertPort(port: unknown, service: string): asserts port is number {
  if (!isValidPort(port)) throw new DiscoveryOptionsError(messages.badPort(port, service));
}

export function isValidHost(host: unknown): host is string {
  return typeof host === 'string' && host.length > 0 && !/[\s/]/.test(host);
}

export function assertAdvertisedHost(host: unknown, service: string): asserts host is string {
  if (!isValidHost(host)) throw new DiscoveryOptionsError(messages.badAdvertisedHost(host, service));
}

export function assertWeight(weight: unknown, service: string): asserts weight is number {
  if (typeof weight !== 'number' || !Number.isInteger(weight) || weight < 0) {
    throw new DiscoveryOptionsError(messages.badWeight(weight, service));
  }
}

export function assertOptionalLabel(value: unknown, service: string, field: string): void {
  if (value !== undefined && (typeof value !== 'string' || value.length === 0)) {
    throw new DiscoveryOptionsError(messages.badMetadata(service, field));
  }
}

export function assertMetadata(metadata: unknown, service: string): asserts metadata is Record<string, string> {
  const valid =
    typeof metadata === 'object' &&
    metadata !== null &&
    !Array.isArray(metadata) &&
    Object.values(metadata).every((value) => typeof value === 'string');
  if (!valid) throw new DiscoveryOptionsError(messages.badMetadata(service, 'metadata'));
}

export function assertPatternList(value: unknown, service: string, field: 'patterns' | 'events'): void {
  if (value === undefined) return;
  if (!Array.isArray(value) || !value.every((pattern) => typeof pattern === 'string' && pattern.length > 0)) {
    throw new DiscoveryOptionsError(messages.badPatternList(service, field, value));
  }
}

/** A key of a nested option object that the library does not read (a typo) fails, as a top-level one does. */
export function assertKnownKeys(option: string, given: object | undefined, known: readonly string[]): void {
  if (typeof given !== 'object' || given === null) return;
  for (const name of Object.keys(given)) {
    if (!known.includes(name)) throw new DiscoveryOptionsError(messages.unknownNestedOption(option, name, known));
  }
}

export function assertDuration(name: string, value: number, min: number): void {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min) {
    throw new DiscoveryOptionsError(messages.badDuration(name, value, min));
  }
}
