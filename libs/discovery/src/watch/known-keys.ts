import { isUp, type ServiceEndpoint } from '../service-endpoint.interface.js';
import { endpointChange, type EndpointChange } from './endpoint-change.interface.js';
import type { HeldRemovals } from './held-removals.js';
import type { TolerantDecoder } from './tolerant-decoder.js';

/** What is known of one key: its raw value, and the endpoint it decodes to (undefined when unreadable). */
interface KnownKey {
  value: string;
  endpoint: ServiceEndpoint | undefined;
}

/** What a batch of changes did to the endpoints: those that leave the list, those that join it, one event each. */
export interface EndpointDiff {
  removed: ServiceEndpoint[];
  added: ServiceEndpoint[];
  events: EndpointChange[];
}

/**
 * The keys of one service as last heard from etcd, each with the endpoint it decodes to, and what a
 * batch of changes does to the endpoints: the decoding and diffing of `ServiceWatch`, apart from its
 * publishing. Only the keys a batch touches are decoded (none whose value is unchanged), so the work
 * a response causes is proportional to what it changed.
 */
export class KnownKeys {
  private readonly known = new Map<string, KnownKey>();
  private notUpCount = 0;

  constructor(
    /** Decodes values, warning once per unreadable key and value (shared by the client's watches). */
    private readonly decoder: TolerantDecoder,
    /** Self-preservation: the deletions it holds, and the keys it gives back. */
    private readonly held: HeldRemovals,
  ) {}

  /** How many listed endpoints are not `'up'`. */
  get notUp(): number {
    return this.notUpCount;
  }

  /** A list is the truth: every key in it, and every key known before that is gone from it. */
  listChanges(entries: ReadonlyMap<string, string>): Map<string, string | undefined> {
    const changes = new Map<string, string | undefined>(entries);
    for (const key of this.known.keys()) if (!entries.has(key)) changes.set(key, undefined);
    return changes;
  }

  /** How many of `changes` delete an `'up'` endpoint: what self-preservation weighs (see HeldRemovals). */
  upDeletions(changes: ReadonlyMap<string, string | undefined>): number {
    let removingUp = 0;
    for (const [key, value] of changes) {
      const endpoint = value === undefined ? this.known.get(key)?.endpoint : undefined;
      if (endpoint !== undefined && isUp(endpoint)) removingUp += 1;
    }
    return removingUp;
  }

  /**
   * Decodes `changes` (of `revision`) and tells what they did. While `holding`, the deletion of an
   * `'up'` endpoint is held instead (see HeldRemovals): the key is forgotten, the endpoint stays listed.
   */
  apply(
    changes: ReadonlyMap<string, string | undefined>,
    revision: number,
    holding: boolean,
    lostData: boolean,
  ): EndpointDiff {
    const removed: ServiceEndpoint[] = [];
    const added: ServiceEndpoint[] = [];
    const events: EndpointChange[] = [];
    for (const [key, value] of changes) {
      const before = this.known.get(key);
      if (value !== undefined && before?.value === value) continue; // written again unchanged
      // A key held by self-preservation that is written again is back: compared with what it was.
      const previous =
        before?.endpoint ?? (value !== undefined && this.held.active ? this.held.returned(key) : undefined);
      if (holding && value === undefined && previous !== undefined && isUp(previous)) {
        this.known.delete(key); // no longer in etcd; still listed and picked until the hold ends
        this.held.hold(key, previous, lostData);
        continue;
      }
      const endpoint = this.decoder.next(key, value, previous);
      if (value === undefined) this.known.delete(key);
      else this.known.set(key, { value, endpoint });
      if (endpoint === previous) continue;
      if (previous) removed.push(previous);
      if (endpoint) added.push(endpoint);
      if (previous && !isUp(previous)) this.notUpCount -= 1;
      if (endpoint && !isUp(endpoint)) this.notUpCount += 1;
      events.push(endpointChange(previous, endpoint, revision));
    }
    return { removed, added, events };
  }
}
