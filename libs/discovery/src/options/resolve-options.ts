import { RoundRobinStrategy } from '../balancing/round-robin.strategy.js';
import { messages } from '../discovery.messages.js';
import { DiscoveryOptionsError } from '../errors.js';
import {
  DEFAULT_CONNECT_TIMEOUT_MS,
  DEFAULT_NAMESPACE,
  DEFAULT_RESYNC_INTERVAL_MS,
  DEFAULT_TTL_SECONDS,
} from './defaults.js';
import type {
  DiscoveryModuleOptions,
  RegistrationMode,
  ResolvedDiscoveryOptions,
} from './discovery-module-options.interface.js';
import { resolveBackoff } from './resolve-backoff.js';
import { resolveCalls } from './resolve-calls.js';
import { resolveHealth, resolveOutlierEjection, resolveSelfPreservation } from './resolve-settings.js';
import { assertDuration, assertKnownKeys, assertServiceName } from './validation.js';

const registrationModes: readonly RegistrationMode[] = ['fail-fast', 'background'];

/** Every option's name; the compiler keeps it complete, so that a typo is reported, not ignored. */
const optionNames: Record<keyof DiscoveryModuleOptions, true> = {
  etcd: true,
  namespace: true,
  ttl: true,
  registration: true,
  connectTimeoutMs: true,
  drainMs: true,
  backoff: true,
  retry: true,
  strategy: true,
  strategies: true,
  requires: true,
  waitForRequiredMs: true,
  resyncIntervalMs: true,
  logger: true,
  outlierEjection: true,
  health: true,
  zone: true,
  zonePreference: true,
  selfPreservation: true,
  calls: true,
  slowStartMs: true,
  metrics: true,
};

/**
 * Applies the defaults (including ETCD_HOSTS) and checks every option, so that a bad value fails
 * at module init with a message that says what to fix.
 */
export function resolveDiscoveryOptions(
  options: DiscoveryModuleOptions = {},
  env: NodeJS.ProcessEnv = process.env,
): ResolvedDiscoveryOptions {
  for (const name of Object.keys(options)) {
    if (!Object.hasOwn(optionNames, name))
      throw new DiscoveryOptionsError(messages.unknownOption(name, Object.keys(optionNames)));
  }
  const resolved: ResolvedDiscoveryOptions = {
    etcd: { ...options.etcd, hosts: resolveHosts(options.etcd?.hosts, env.ETCD_HOSTS) },
    namespace: resolveNamespace(options.namespace ?? DEFAULT_NAMESPACE),
    ttl: options.ttl ?? DEFAULT_TTL_SECONDS,
    registration: options.registration ?? 'fail-fast',
    connectTimeoutMs: options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
    drainMs: options.drainMs ?? 0,
    backoff: resolveBackoff(options),
    strategy: options.strategy ?? new RoundRobinStrategy(),
    strategies: options.strategies ?? {},
    requires: [...new Set(options.requires ?? [])],
    waitForRequiredMs: options.waitForRequiredMs ?? 0,
    resyncIntervalMs: options.resyncIntervalMs ?? DEFAULT_RESYNC_INTERVAL_MS,
    logger: options.logger ?? true,
    outlierEjection: resolveOutlierEjection(options.outlierEjection),
    health: resolveHealth(options.health),
    zone: options.zone,
    zonePreference: options.zonePreference ?? true,
    selfPreservation: resolveSelfPreservation(options.selfPreservation),
    calls: resolveCalls(options.calls),
    slowStartMs: options.slowStartMs ?? 0,
    metrics: { perInstance: options.metrics?.perInstance ?? false },
  };
  if (!Number.isInteger(resolved.ttl) || resolved.ttl < 1) {
    throw new DiscoveryOptionsError(messages.badTtl(options.ttl));
  }
  if (!registrationModes.includes(resolved.registration)) {
    throw new DiscoveryOptionsError(messages.badRegistrationMode(options.registration));
  }
  assertDuration('connectTimeoutMs', resolved.connectTimeoutMs, 1);
  assertDuration('drainMs', resolved.drainMs, 0);
  assertDuration('waitForRequiredMs', resolved.waitForRequiredMs, 0);
  assertDuration('slowStartMs', resolved.slowStartMs, 0);
  assertDuration('resyncIntervalMs', resolved.resyncIntervalMs, 1000);
  if (!Array.isArray(options.requires ?? [])) throw new DiscoveryOptionsError(messages.badRequires(options.requires));
  for (const service of resolved.requires) assertServiceName(service, '`requires`');
  if (resolved.zone !== undefined && (typeof resolved.zone !== 'string' || resolved.zone.length === 0)) {
    throw new DiscoveryOptionsError(messages.badZone(resolved.zone));
  }
  if (typeof resolved.zonePreference !== 'boolean')
    throw new DiscoveryOptionsError(messages.badZonePreference(resolved.zonePreference));
  if (options.metrics !== undefined && (typeof options.metrics !== 'object' || options.metrics === null)) {
    throw new DiscoveryOptionsError(messages.badMetrics(options.metrics));
  }
  assertKnownKeys('metrics', options.metrics, ['perInstance']);
  if (typeof resolved.metrics.perInstance !== 'boolean')
    throw new DiscoveryOptionsError(messages.badPerInstance(options.metrics?.perInstance));
  if (typeof resolved.logger !== 'boolean') throw new DiscoveryOptionsError(messages.badLogger(options.logger));
  assertStrategy(resolved.strategy, '`strategy`');
  for (const [service, strategy] of Object.entries(resolved.strategies)) {
    assertServiceName(service, '`strategies`');
    assertStrategy(strategy, `\`strategies["${service}"]\``);
  }
  return resolved;
}

function resolveHosts(hosts: unknown, fromEnv: string | undefined): string[] {
  // A string, from the option or from ETCD_HOSTS, is read the same way: comma-separated.
  const given = hosts ?? fromEnv;
  const list =
    typeof given === 'string'
      ? given
          .split(',')
          .map((host) => host.trim())
          .filter((host) => host.length > 0)
      : given;
  if (!Array.isArray(list) || list.length === 0) throw new DiscoveryOptionsError(messages.noHosts());
  for (const host of list) {
    if (typeof host !== 'string' || host.trim().length === 0) throw new DiscoveryOptionsError(messages.badHost(host));
  }
  const secure = list.filter((host: string) => host.startsWith('https://')).length;
  if (secure > 0 && secure < list.length) throw new DiscoveryOptionsError(messages.mixedHostSchemes(list));
  return list as string[];
}

function resolveNamespace(namespace: unknown): string {
  if (typeof namespace !== 'string' || !namespace.startsWith('/')) {
    throw new DiscoveryOptionsError(messages.badNamespace(namespace));
  }
  // A trailing "/" is accepted and dropped: keys are always built as `${namespace}/${service}/…`.
  const trimmed = namespace.replace(/\/+$/, '');
  if (
    trimmed.length === 0 ||
    trimmed
      .slice(1)
      .split('/')
      .some((segment) => segment.length === 0)
  ) {
    throw new DiscoveryOptionsError(messages.badNamespace(namespace));
  }
  return trimmed;
}

function assertStrategy(strategy: unknown, where: string): void {
  const isClass = typeof strategy === 'function';
  const isInstance = typeof (strategy as { pick?: unknown } | null)?.pick === 'function';
  if (!isClass && !isInstance) throw new DiscoveryOptionsError(messages.badStrategy(where));
}
