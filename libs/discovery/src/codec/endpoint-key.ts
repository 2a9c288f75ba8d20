/**
 * The prefix of a service's keys, `<namespace>/<service>/`. The trailing "/" matters: without it, a
 * watch on `/services/foo` would also see `/services/foo_other` (etcd #15022).
 */
export function servicePrefix(namespace: string, service: string): string {
  return `${namespace}/${service}/`;
}

/** The key of one instance: `<namespace>/<service>/<instance id>`. */
export function endpointKey(namespace: string, service: string, id: string): string {
  return `${servicePrefix(namespace, service)}${id}`;
}

/** Splits a key under `namespace` into its service and instance part, or undefined when it is not one. */
export function parseEndpointKey(namespace: string, key: string): { service: string; id: string } | undefined {
  if (!key.startsWith(namespace) || key.charCodeAt(namespace.length) !== 47 /* "/" */) return undefined;
  const rest = key.slice(namespace.length + 1);
  const slash = rest.indexOf('/');
  if (slash <= 0 || slash === rest.length - 1) return undefined;
  return { service: rest.slice(0, slash), id: rest.slice(slash + 1) };
}
