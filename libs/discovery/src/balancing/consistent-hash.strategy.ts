import { messages } from '../discovery.messages.js';
import { DiscoveryOptionsError } from '../errors.js';
import type { ServiceEndpoint } from '../service-endpoint.interface.js';
import { hash32 } from './hash.js';
import type { LoadBalancingStrategy, PickContext } from './load-balancing-strategy.js';

interface Ring {
  points: Uint32Array;
  owners: ServiceEndpoint[];
}

/**
 * Consistent hashing on a ring with virtual nodes: the same key goes to the same endpoint while
 * it is there, and when one of N endpoints leaves only its ~1/N of the keys move. The ring is
 * built once per endpoint list (lists are replaced, never mutated, on every change).
 */
export class ConsistentHashStrategy implements LoadBalancingStrategy {
  private readonly rings = new WeakMap<readonly ServiceEndpoint[], Ring>();

  /** @param virtualNodes points per endpoint on the ring; more points, more even spread. */
  constructor(private readonly virtualNodes = 160) {
    if (!Number.isInteger(virtualNodes) || virtualNodes < 1) {
      throw new DiscoveryOptionsError(messages.badVirtualNodes(virtualNodes));
    }
  }

  pick(endpoints: readonly ServiceEndpoint[], { service, key }: PickContext): ServiceEndpoint | undefined {
    if (key === undefined) throw new DiscoveryOptionsError(messages.hashKeyMissing(service));
    if (endpoints.length === 0) return undefined;
    let ring = this.rings.get(endpoints);
    if (!ring) {
      ring = this.buildRing(endpoints);
      this.rings.set(endpoints, ring);
    }
    const point = hash32(key);
    // The first ring point at or after the key's hash, wrapping around.
    let low = 0;
    let high = ring.points.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (ring.points[middle]! < point) low = middle + 1;
      else high = middle;
    }
    return ring.owners[low === ring.points.length ? 0 : low];
  }

  private buildRing(endpoints: readonly ServiceEndpoint[]): Ring {
    const entries: [number, ServiceEndpoint][] = [];
    for (const endpoint of endpoints) {
      for (let replica = 0; replica < this.virtualNodes; replica += 1) {
        entries.push([hash32(`${endpoint.id}#${replica}`), endpoint]);
      }
    }
    // Ties (vanishingly rare) are broken by id, so that every process builds the same ring.
    entries.sort((a, b) => a[0] - b[0] || (a[1].id < b[1].id ? -1 : a[1].id > b[1].id ? 1 : 0));
    return { points: Uint32Array.from(entries, ([point]) => point), owners: entries.map(([, owner]) => owner) };
  }
}
