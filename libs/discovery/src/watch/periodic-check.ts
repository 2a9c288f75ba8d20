import type { EtcdGateway, PrefixCount } from '../etcd/etcd-gateway.js';

/** One round in this many is deep (a full list per watch): what a count cannot see is repaired within the hour. */
export const DEEP_EVERY = 12;

/** One watch's periodic check; `deep`: list, whatever the count says. */
export type PeriodicCheck = (deep: boolean) => Promise<void>;

/**
 * When an app's watches look again on their own, as a last safety net: one round about every
 * `intervalMs` — each time at a random point between half and one and a half of it, so that a fleet
 * started together does not check together — in which every watch checks at once, so that their
 * counts reach etcd as one request (the gateway batches what is asked in the same tick): a cost to
 * etcd per app, not per service watched. Every `DEEP_EVERY`-th round is deep.
 */
export class PeriodicChecks {
  private readonly checks = new Set<PeriodicCheck>();
  private timer: NodeJS.Timeout | undefined;
  private rounds = 0;
  private stopped = false;

  constructor(
    private readonly intervalMs: number,
    private readonly random: () => number = Math.random,
  ) {}

  /** Adds a watch's check to every round from now on; returns what takes it out. */
  add(check: PeriodicCheck): () => void {
    this.checks.add(check);
    if (this.timer === undefined) this.schedule();
    return () => this.checks.delete(check);
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private schedule(): void {
    if (this.stopped) return;
    // Unref'd: a check never keeps a process alive on its own.
    this.timer = setTimeout(() => void this.round(), this.intervalMs * (0.5 + this.random())).unref();
  }

  private async round(): Promise<void> {
    this.rounds += 1;
    const deep = this.rounds % DEEP_EVERY === 0;
    // A check that fails (etcd unreachable) is left to its watch's own recovery; the next round comes all the same.
    await Promise.allSettled([...this.checks].map((check) => check(deep)));
    this.schedule();
  }
}

/** How long to wait for changes on their way before a count made now, not at the revision asked, is believed. */
const SETTLE_MS = 3000;

/**
 * Whether a watch missed changes: etcd's count of `prefix` at the `revision` the watch applied,
 * against its own `keyCount` — a serializable count from etcd's index, no value read. While
 * `unchanged()` is false (changes arrived meanwhile, or a list) nothing is concluded: the next round
 * compares again. A count etcd made now rather than at that revision (compacted away) is believed
 * only if it still differs a few seconds later, when changes on their way have arrived.
 */
export async function missedChanges(
  gateway: EtcdGateway,
  prefix: string,
  revision: number,
  keyCount: number,
  unchanged: () => boolean,
): Promise<boolean> {
  const differs = (counted: PrefixCount) => unchanged() && counted.count !== keyCount;
  const counted = await gateway.count(prefix, revision);
  if (!differs(counted)) return false;
  if (counted.revision !== revision) {
    await new Promise((resolve) => setTimeout(resolve, SETTLE_MS).unref());
    return differs(await gateway.count(prefix, 0));
  }
  return true;
}
