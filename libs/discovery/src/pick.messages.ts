/**
 * The messages of picking an endpoint and finding who handles a pattern: what was asked for, why nothing
 * could be given, and what to change. Part of `messages` (discovery.messages.ts), kept apart for length.
 */
export const pickMessages = {
  hashKeyMissing: (service: string) =>
    `ConsistentHashStrategy needs a key to pick an endpoint of "${service}": call pick("${service}", key) ` +
    `(or give the client proxy a \`keyOf\`), or use another strategy for this service.`,
  badDecay: (decayMs: unknown) =>
    `Invalid \`decayMs\` ${JSON.stringify(decayMs)} for LatencyAwareStrategy: ` +
    `a number of milliseconds > 0 (default 10000).`,
  tooManyToHash: (count: number, most: number) =>
    `ConsistentHashStrategy places up to ${most} endpoints of a service on its ring, not ${count}: ` +
    `use another strategy for this service.`,
  badVirtualNodes: (count: unknown) =>
    `Invalid number of virtual nodes ${JSON.stringify(count)} for ConsistentHashStrategy: ` +
    `a whole number ≥ 1 (default 160).`,
  noEndpointInSubset: (service: string, subset: string, listed: number) =>
    `No endpoint available for service "${service}" ${subset}: ` +
    `none of its ${listed} listed endpoint(s) matches and may be picked.`,
  noEndpoint: (service: string, loaded: boolean) =>
    loaded
      ? `No endpoint available for service "${service}": no instance is registered in etcd, ` +
        `or none may be picked (weight 0, or not 'up').`
      : `No endpoint available for service "${service}" yet: its endpoint list is still being read from etcd. ` +
        `Declare it in \`requires\` (DiscoveryModule options or @Discoverable()) so it is watched from bootstrap, ` +
        `or await discovery.waitFor("${service}").`,
  badPatternKind: (kind: unknown) =>
    `Invalid pattern kind ${JSON.stringify(kind)} in whoHandles(): 'message' (the default) or 'event'.`,
  noHandler: (kind: 'message' | 'event', pattern: string, catalogLoaded: boolean) => {
    const decorator = kind === 'message' ? '@MessagePattern' : '@EventPattern';
    return catalogLoaded
      ? `No service handles ${kind} pattern "${pattern}": no instance under the namespace publishes it (the ` +
          `${decorator} handlers of @Discoverable() classes are published).`
      : `No service handles ${kind} pattern "${pattern}" yet: the catalog could not be read from etcd in time.`;
  },
  noHandlerInstance: (kind: 'message' | 'event', pattern: string, services: readonly string[]) =>
    `No instance can take ${kind} pattern "${pattern}" now: ${services.map((service) => `"${service}"`).join(', ')} ` +
    `handle${services.length === 1 ? 's' : ''} it, but none of the instances that publish it may be picked ` +
    `(not 'up', weight 0, or ejected).`,
  waitTimeout: (service: string, count: number, timeoutMs: number, have: number) =>
    `Timed out after ${timeoutMs} ms waiting for ${count} endpoint(s) of service "${service}" (found ${have}). ` +
    `Check that the service runs and registers under the same namespace and etcd.`,
  badStrategy: (where: string) =>
    `Invalid load-balancing strategy in ${where}: give an object with a pick(endpoints, context) method, or a class ` +
    `that implements LoadBalancingStrategy.`,
} as const;
