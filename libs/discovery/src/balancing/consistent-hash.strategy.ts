import { messages } from '../discovery.messages.js';
import { DiscoveryOptionsError } from '../errors.js';
import type { ServiceEndpoint } from '../service-endpoint.interface.js';
import { hash32 } from './hash.js';
import { HashRing } from './hash-ring.js';
import type { LoadBalancingStrategy, PickContext } from './load-balancing-strategy.js';

/**
 * Consistent hashing on a ring with virtual nodes: the same key goes to the same endpoint while
 * it is there, and when one of N endpoints leaves only its ~1/N of the keys move. The ring is
 * updated when the list changes (only the points of endpoints that joined or left), never per
 * pick; a pick hashes the key and searches a few points. Past 13,107 endpoints each gets fewer
 * points than `virtualNodes`, so that the ring stays at most 2²¹ points (as Envoy caps it).
 */
export class ConsistentHashStrategy implements LoadBalancingStrategy {
  private readonly rings = new Map<string, { list: readonly ServiceEndpoint[]; ring: HashRing }>();

  /** @param virtualNodes points per endpoint on the ring; more points, more even spread. @default 160 */
  constructor(private readonly virtualNodes = 160) {
    if (!Number.isInteger(virtualNodes) || virtualNodes < 1) {
      throw new DiscoveryOptionsError(messages.badVirtualNodes(virtualNodes));
    }
  }

  pick(
    endpoints: readonly ServiceEndpoint[],
    { service, key, group = service }: PickContext,
  ): ServiceEndpoint | undefined {
    if (key === undefined) throw new DiscoveryOptionsError(messages.hashKeyMissing(service));
    let current = this.rings.get(group);
    if (current?.list !== endpoints) {
      const ring = current
        ? current.ring.update(endpoints, this.virtualNodes)
        : HashRing.build(endpoints, this.virtualNodes);
      current = { list: endpoints, ring };
      this.rings.set(group, current);
    }
    return current.ring.lookup(hash32(key));
  }
}
