import { messages } from '../discovery.messages.js';
import { DiscoveryOptionsError } from '../errors.js';
import type { OutlierEjectionSettings, SelfPreservationSettings } from './behaviour-settings.interface.js';
import type { DiscoveryModuleOptions, HealthOptions } from './discovery-module-options.interface.js';
import { DEFAULT_HEALTH, DEFAULT_OUTLIER_EJECTION, DEFAULT_SELF_PRESERVATION } from './defaults.js';
import { assertDuration, assertKnownKeys } from './validation.js';

// The nested options of `forRoot()` — health, self-preservation, outlier ejection — checked, with their defaults.

export function resolveHealth(given: DiscoveryModuleOptions['health']): Required<HealthOptions> | undefined {
  if (given === undefined) return undefined;
  if (typeof given !== 'object' || given === null || typeof given.check !== 'function') {
    throw new DiscoveryOptionsError(
      messages.badHealth(
        'give { check: () => boolean | Promise<boolean>, intervalMs?, unhealthyThreshold?, healthyThreshold? }',
      ),
    );
  }
  const health = { ...DEFAULT_HEALTH, ...given };
  assertKnownKeys('health', given, ['intervalMs', 'unhealthyThreshold', 'healthyThreshold', 'check']);
  assertDuration('health.intervalMs', health.intervalMs, 1);
  for (const name of ['unhealthyThreshold', 'healthyThreshold'] as const) {
    if (!Number.isInteger(health[name]) || health[name] < 1)
      throw new DiscoveryOptionsError(messages.badHealth(`\`${name}\` must be a whole number ≥ 1`));
  }
  return health;
}

export function resolveSelfPreservation(
  given: DiscoveryModuleOptions['selfPreservation'],
): SelfPreservationSettings | false {
  const settings = switchable('selfPreservation', given, DEFAULT_SELF_PRESERVATION, messages.badSelfPreservation);
  if (settings === false) return false;
  assertDuration('selfPreservation.confirmMs', settings.confirmMs, 1);
  assertDuration('selfPreservation.maxHoldMs', settings.maxHoldMs, 1);
  if (settings.maxHoldMs < settings.confirmMs) {
    throw new DiscoveryOptionsError(
      messages.badSelfPreservation(
        given,
        `\`maxHoldMs\` (${settings.maxHoldMs}) must be at least \`confirmMs\` (${settings.confirmMs})`,
      ),
    );
  }
  return settings;
}

export function resolveOutlierEjection(
  given: DiscoveryModuleOptions['outlierEjection'],
): OutlierEjectionSettings | false {
  const settings = switchable('outlierEjection', given, DEFAULT_OUTLIER_EJECTION, messages.badOutlierEjection);
  if (settings === false) return false;
  if (!Number.isInteger(settings.consecutiveFailures) || settings.consecutiveFailures < 1) {
    throw new DiscoveryOptionsError(
      messages.badOutlierEjection(given, '`consecutiveFailures` must be a whole number ≥ 1'),
    );
  }
  assertDuration('outlierEjection.baseEjectionMs', settings.baseEjectionMs, 1);
  if (!(settings.maxEjectedPercent >= 0 && settings.maxEjectedPercent <= 100)) {
    throw new DiscoveryOptionsError(
      messages.badOutlierEjection(given, '`maxEjectedPercent` must be between 0 and 100'),
    );
  }
  return settings;
}

/**
 * An option that is `false` (off) or settings over `defaults`: anything but an object of the keys
 * `defaults` has fails, with `bad(given)` or the list of the keys it takes.
 */
function switchable<T extends object>(
  option: string,
  given: Partial<T> | false | undefined,
  defaults: T,
  bad: (given: unknown) => string,
): T | false {
  if (given === false) return false;
  if (given !== undefined && (typeof given !== 'object' || given === null)) throw new DiscoveryOptionsError(bad(given));
  assertKnownKeys(option, given, Object.keys(defaults));
  return { ...defaults, ...given };
}
