/**
 * Where traffic policies live in etcd: beside the namespace, never in it (`/services` → `/services.policy/`), so
 * that the catalog, the services' watches and Go readers of the namespace never see them.
 */

/**
 * The prefix of every service's document: `<namespace>.policy/`. Apps watch it; besides the documents only the
 * CLI's ask for reports lives there (`reportsAskedKey`), so that the apps' one watch brings it too.
 */
export function policyPrefix(namespace: string): string {
  return `${namespace}.policy/`;
}

/** The document of `service`: `<namespace>.policy/<service>`. */
export function policyKey(namespace: string, service: string): string {
  return `${policyPrefix(namespace)}${service}`;
}

/** The service a document's key names, or undefined for a key that is not one. */
export function serviceOfPolicyKey(namespace: string, key: string): string | undefined {
  const prefix = policyPrefix(namespace);
  const service = key.startsWith(prefix) ? key.slice(prefix.length) : '';
  return service === '' || service.includes('/') ? undefined : service;
}

/**
 * Written by the CLI when it needs to know where callers stand (`--wait`, or `ls`/`describe` finding a report older
 * than a document): every app that calls a service writes its report again. Not a service: its name has a slash.
 */
export function reportsAskedKey(namespace: string): string {
  return `${policyPrefix(namespace)}reports/asked`;
}

/** The previous documents of `service`, kept by the CLI: `<namespace>.policy-history/<service>/`. */
export function policyHistoryPrefix(namespace: string, service: string): string {
  return `${namespace}.policy-history/${service}/`;
}

/** What each app applies, one leased key per app: `<namespace>.policy-applied/<app>`. */
export function policyAppliedPrefix(namespace: string): string {
  return `${namespace}.policy-applied/`;
}
