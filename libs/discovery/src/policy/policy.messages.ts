import type { LoggerService } from '@nestjs/common';
import type { ServicePolicyEvents } from './service-policy.js';
import type { PolicyProblem } from './validate-traffic-policy.js';

/** The messages of traffic policies, as apps log them: which service, which revision, what to fix. */
export const policyMessages = {
  rejected: (service: string, key: string, revision: number, problems: readonly PolicyProblem[]) =>
    `The traffic policy of "${service}" at revision ${revision} (${key}) is not applied, the last good one stays: ` +
    `${problems[0].field} ${problems[0].message}` +
    (problems.length > 1
      ? ` (and ${problems.length - 1} more problem(s); check it with the CLI's \`apply --dry-run\`)`
      : ''),
  drainsCapped: (service: string, drained: number, allowed: number) =>
    `The traffic policy of "${service}" drains ${drained} of its instances up, but its guard allows ${allowed}: ` +
    `the first ${allowed} (by key) are drained, the others keep their calls.`,
  versionsMissing: (service: string, missing: readonly string[], stepsAside: boolean) =>
    stepsAside
      ? `The split of "${service}" names no version that has an instance up now (${missing.join(', ')}): ` +
        `calls go to every instance until one has.`
      : `The split of "${service}" names version(s) with no instance up now (${missing.join(', ')}): ` +
        `their share goes to the other versions.`,
  unreadable: (prefix: string, reason: string) =>
    `Traffic policies at ${prefix} cannot be read (${reason}): the app's own settings apply; read again every ` +
    `5 min (grant its etcd role read on that prefix).`,
  reportRefused: (key: string, reason: string) =>
    `This app's report of the policies it applies cannot be written at ${key} (${reason}): the CLI will not count ` +
    `it among the callers that applied a change (grant its etcd role write on that prefix).`,
  splitWhole: (service: string) => `The split of "${service}" has an instance of each version it names again.`,
};

/** What a policy could not do as written, logged: a warning, and a line when a split is whole again. */
export function loggedPolicyEvents(logger: LoggerService): ServicePolicyEvents {
  return {
    drainsCapped: (service, drained, allowed) => {
      logger.warn(policyMessages.drainsCapped(service, drained, allowed));
    },
    versionsMissing: (service, missing, stepsAside) => {
      if (missing.length === 0) logger.log(policyMessages.splitWhole(service));
      else logger.warn(policyMessages.versionsMissing(service, missing, stepsAside));
    },
  };
}
