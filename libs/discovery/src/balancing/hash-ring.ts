import { messages } from '../discovery.messages.js';
import { DiscoveryOptionsError } from '../errors.js';
import type { ServiceEndpoint } from '../service-endpoint.interface.js';
import { hash32, mix32 } from './hash.js';

/** The ring never holds more points than this (as Envoy caps it): at 100,000 endpoints, 20 each. */
const MAX_POINTS = 1 << 21;
/** Points are sorted packed as hash · 2²¹ + slot, exact in a double. */
const SLOT_RANGE = 1 << 21;
const BUCKETS = 1 << 16;

/** How many points each endpoint gets: `virtualNodes`, fewer when that would pass MAX_POINTS. */
export function pointsPerEndpoint(endpoints: number, virtualNodes: number): number {
  return endpoints === 0 ? 0 : Math.max(1, Math.min(virtualNodes, Math.floor(MAX_POINTS / endpoints)));
}

/**
 * A consistent-hash ring in typed arrays: sorted point hashes, the slot that owns each, and a
 * bucket index by the top 16 bits of a hash, so that a lookup searches a few points, not all.
 * An endpoint's points depend only on its id, so that every process builds the same ring, and an
 * update moves only the points of the endpoints that joined or left.
 */
export class HashRing {
  private constructor(
    readonly perEndpoint: number,
    /** Slot of each id; an endpoint keeps its slot while it stays. */
    private readonly slotOf: Map<string, number>,
    /** The current endpoint object in each slot (undefined: a free slot). */
    private readonly bySlot: (ServiceEndpoint | undefined)[],
    private readonly points: Uint32Array,
    private readonly owners: Int32Array,
    private readonly buckets: Uint32Array,
  ) {}

  static build(list: readonly ServiceEndpoint[], virtualNodes: number): HashRing {
    const slotOf = new Map<string, number>();
    const bySlot: ServiceEndpoint[] = [];
    for (const endpoint of list) {
      const slot = slotOf.get(endpoint.id);
      if (slot !== undefined)
        bySlot[slot] = endpoint; // the same id twice: one place on the ring
      else slotOf.set(endpoint.id, bySlot.push(endpoint) - 1);
    }
    if (bySlot.length >= SLOT_RANGE)
      throw new DiscoveryOptionsError(messages.tooManyToHash(bySlot.length, SLOT_RANGE - 1));
    const per = pointsPerEndpoint(bySlot.length, virtualNodes);
    const packed = pointsOf(
      bySlot.map((endpoint, slot) => [endpoint, slot] as const),
      per,
    );
    return HashRing.from(per, slotOf, bySlot, packed);
  }

  /** The first endpoint at or after `hash` on the ring, wrapping around. */
  lookup(hash: number): ServiceEndpoint | undefined {
    const { points } = this;
    if (points.length === 0) return undefined;
    const bucket = hash >>> 16;
    let low = this.buckets[bucket];
    let high = this.buckets[bucket + 1];
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (points[middle] < hash) low = middle + 1;
      else high = middle;
    }
    return this.bySlot[this.owners[low === points.length ? 0 : low]];
  }

  /**
   * The ring for `list`, made from this one (which must not be used afterwards): endpoints that stay
   * keep their points, so only the keys of those that left, and those taken by those that joined,
   * move. Rebuilt whole only when the number of points per endpoint changes (past 13,107 endpoints).
   */
  update(list: readonly ServiceEndpoint[], virtualNodes: number): HashRing {
    const stays = new Uint8Array(this.bySlot.length);
    const joined = new Map<string, ServiceEndpoint>();
    for (const endpoint of list) {
      const slot = this.slotOf.get(endpoint.id);
      if (slot === undefined) joined.set(endpoint.id, endpoint);
      else {
        stays[slot] = 1;
        this.bySlot[slot] = endpoint;
      }
    }
    const left: number[] = [];
    for (let slot = 0; slot < this.bySlot.length; slot += 1)
      if (this.bySlot[slot] !== undefined && stays[slot] === 0) left.push(slot);
    const count = this.slotOf.size - left.length + joined.size;
    if (pointsPerEndpoint(count, virtualNodes) !== this.perEndpoint || count >= SLOT_RANGE)
      return HashRing.build(list, virtualNodes);
    if (left.length === 0 && joined.size === 0) return this;
    const gone = new Uint8Array(this.bySlot.length);
    for (const slot of left) {
      gone[slot] = 1;
      this.slotOf.delete(this.bySlot[slot]!.id);
      this.bySlot[slot] = undefined;
    }
    // Joiners take free slots, but not this time's leavers' (their old points are still in the arrays).
    const free = this.bySlot.flatMap((endpoint, slot) => (endpoint === undefined && gone[slot] === 0 ? [slot] : []));
    const placed = [...joined.values()].map((endpoint) => {
      const slot = free.pop() ?? this.bySlot.length;
      this.bySlot[slot] = endpoint;
      this.slotOf.set(endpoint.id, slot);
      return [endpoint, slot] as const;
    });
    const added = pointsOf(placed, this.perEndpoint);
    const packed = new Float64Array(this.points.length - left.length * this.perEndpoint + added.length);
    let from = 0;
    let to = 0;
    for (let index = 0; index < this.points.length; index += 1) {
      const owner = this.owners[index];
      if (gone[owner] === 1) continue;
      const point = this.points[index] * SLOT_RANGE + owner;
      while (from < added.length && added[from] < point) packed[to++] = added[from++]!;
      packed[to++] = point;
    }
    while (from < added.length) packed[to++] = added[from++]!;
    return HashRing.from(this.perEndpoint, this.slotOf, this.bySlot, packed);
  }

  private static from(
    per: number,
    slotOf: Map<string, number>,
    bySlot: (ServiceEndpoint | undefined)[],
    packed: Float64Array,
  ): HashRing {
    const points = new Uint32Array(packed.length);
    const owners = new Int32Array(packed.length);
    for (let index = 0; index < packed.length; index += 1) {
      const value = packed[index];
      points[index] = Math.floor(value / SLOT_RANGE);
      owners[index] = value % SLOT_RANGE;
    }
    orderTies(points, owners, bySlot);
    const buckets = new Uint32Array(BUCKETS + 1);
    let index = 0;
    for (let bucket = 0; bucket <= BUCKETS; bucket += 1) {
      while (index < points.length && points[index] >>> 16 < bucket) index += 1;
      buckets[bucket] = index;
    }
    return new HashRing(per, slotOf, bySlot, points, owners, buckets);
  }
}

/** The sorted packed points of `placed` endpoints. */
function pointsOf(placed: readonly (readonly [ServiceEndpoint, number])[], per: number): Float64Array {
  const packed = new Float64Array(placed.length * per);
  let index = 0;
  for (const [endpoint, slot] of placed) {
    const base = hash32(endpoint.id);
    for (let replica = 0; replica < per; replica += 1)
      packed[index++] = mix32(base ^ Math.imul(replica + 1, 0x9e3779b1)) * SLOT_RANGE + slot;
  }
  return packed.sort();
}

/** Equal hashes (rare) go by endpoint id, not by slot, so that every process orders them the same. */
function orderTies(points: Uint32Array, owners: Int32Array, bySlot: readonly (ServiceEndpoint | undefined)[]): void {
  for (let start = 0; start < points.length - 1; start += 1) {
    let end = start + 1;
    while (end < points.length && points[end] === points[start]) end += 1;
    if (end - start > 1) {
      const run = Array.from(owners.subarray(start, end)).sort((a, b) => (bySlot[a]!.id < bySlot[b]!.id ? -1 : 1));
      owners.set(run, start);
    }
    start = end - 1;
  }
}
