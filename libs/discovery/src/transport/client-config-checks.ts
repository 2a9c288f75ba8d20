import { messages } from '../discovery.messages.js';
import { DiscoveryOptionsError } from '../errors.js';
import { assertServiceName } from '../options/validation.js';
import { TCP_TRANSPORT, TRANSPORT_NAMES } from '../util/nest-microservices.js';
import type { DiscoveryClientConfig } from './discovery-client-options.interface.js';

export const DEFAULT_RETRIES = 2;

/** Checks one `DiscoveryClientsModule` entry at init and fills in its defaults. */
export function checkClientConfig(
  name: string | symbol,
  config: DiscoveryClientConfig,
): DiscoveryClientConfig & { retries: number } {
  const label = String(name);
  if (config.byPattern !== undefined && typeof config.byPattern !== 'boolean') {
    throw new DiscoveryOptionsError(messages.badClientOption(label, 'byPattern', 'true or false'));
  }
  if (config.byPattern === true) {
    if (config.service !== undefined) throw new DiscoveryOptionsError(messages.serviceAndByPattern(label));
  } else {
    assertServiceName(config.service, `DiscoveryClientsModule entry "${label}"`);
  }
  if (config.transport !== undefined && (config.transport as number) !== TCP_TRANSPORT) {
    throw new DiscoveryOptionsError(
      messages.unsupportedTransport(label, TRANSPORT_NAMES[config.transport as number] ?? config.transport),
    );
  }
  const retries = config.retries ?? DEFAULT_RETRIES;
  if (!Number.isInteger(retries) || retries < 0) {
    throw new DiscoveryOptionsError(messages.badClientOption(label, 'retries', 'a whole number ≥ 0 (default 2)'));
  }
  if (config.keyOf !== undefined && typeof config.keyOf !== 'function') {
    throw new DiscoveryOptionsError(messages.badClientOption(label, 'keyOf', 'a function (pattern, data) => string'));
  }
  if (
    config.timeoutMs !== undefined &&
    !(typeof config.timeoutMs === 'number' && config.timeoutMs >= 1 && Number.isFinite(config.timeoutMs))
  ) {
    throw new DiscoveryOptionsError(messages.badClientOption(label, 'timeoutMs', 'a number of milliseconds ≥ 1'));
  }
  if (config.retryOnTimeout !== undefined && typeof config.retryOnTimeout !== 'boolean') {
    throw new DiscoveryOptionsError(messages.badClientOption(label, 'retryOnTimeout', 'true or false'));
  }
  const { where } = config;
  if (where !== undefined && typeof where !== 'function' && (typeof where !== 'object' || where === null)) {
    throw new DiscoveryOptionsError(messages.badWhere(label));
  }
  return { ...config, retries };
}
