/** Injection tokens private to the library. */
export const RESOLVED_DISCOVERY_OPTIONS = Symbol('nestjs-etcd-discovery:resolved-options');
