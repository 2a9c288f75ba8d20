import { EtcdLeaseInvalidError, GRPCUnavailableError } from 'etcd3';
import { EtcdGateway, type KeyChange, type PrefixList, type WatchHandle, type WatchHandlers } from '../etcd/etcd-gateway.js';

interface StoredKey {
  value: string;
  lease: string | undefined;
}

interface MemoryWatch {
  matches(key: string): boolean;
  handlers: WatchHandlers;
  /** Changes at or after this revision are delivered. */
  from: number;
}

/** One operation of a transaction: a put (with a value) or a delete. */
export type MemoryOperation = { put: string; value: string; lease?: string } | { delete: string };

/**
 * etcd in memory, with the semantics the library relies on: one revision per write or transaction,
 * leases that own keys, watches from a revision (replaying history), and on demand the faults the
 * real one has — unreachable, a watch stream lost and resumed (with or without a gap), a watch
 * cancelled, a lease expired, the data wiped. Watch responses arrive asynchronously, as over a network.
 */
export class InMemoryEtcd extends EtcdGateway {
  private revision = 0;
  private readonly keys = new Map<string, StoredKey>();
  private readonly leases = new Map<string, number>();
  private nextLease = 1;
  private readonly history: KeyChange[] = [];
  private readonly watches = new Set<MemoryWatch>();
  private unreachable = false;
  /** Every operation, in order (`grant 1`, `put /services/a/x`, `revoke 1`, …): what specs check. */
  readonly log: string[] = [];

  // ——— the gateway ———

  async grantLease(ttlSeconds: number): Promise<string> {
    this.reachable();
    const id = String(this.nextLease++);
    this.leases.set(id, ttlSeconds);
    this.log.push(`grant ${id}`);
    return id;
  }

  async keepAlive(leaseId: string): Promise<number> {
    this.reachable();
    return this.leases.get(leaseId) ?? 0;
  }

  async revokeLease(leaseId: string): Promise<void> {
    this.reachable();
    if (!this.leases.has(leaseId)) throw new EtcdLeaseInvalidError(leaseId);
    this.log.push(`revoke ${leaseId}`);
    this.dropLease(leaseId);
  }

  async put(key: string, value: string, leaseId: string): Promise<number> {
    this.reachable();
    if (!this.leases.has(leaseId)) throw new EtcdLeaseInvalidError(leaseId);
    this.log.push(`put ${key}`);
    return this.commit([{ put: key, value, lease: leaseId }]);
  }

  async delete(key: string): Promise<void> {
    this.reachable();
    this.log.push(`delete ${key}`);
    this.commit([{ delete: key }]);
  }

  async checkWritable(): Promise<void> {
    this.reachable();
  }

  async list(prefix: string): Promise<PrefixList> {
    this.reachable();
    const entries = new Map<string, string>();
    for (const [key, { value }] of this.keys) if (key.startsWith(prefix)) entries.set(key, value);
    return { entries, revision: this.revision };
  }

  watchPrefix(prefix: string, fromRevision: number, handlers: WatchHandlers): WatchHandle {
    return this.watch(prefix, (key) => key.startsWith(prefix), fromRevision, handlers);
  }

  watchKey(key: string, fromRevision: number, handlers: WatchHandlers): WatchHandle {
    return this.watch(key, (candidate) => candidate === key, fromRevision, handlers);
  }

  /** Closed with the app, last (as the real gateway closes its client). */
  onApplicationShutdown(): void {
    this.log.push('close');
  }

  // ——— what a test does to it ———

  /** Writes (or deletes) several keys in one transaction: one revision, one watch response. */
  transaction(operations: MemoryOperation[]): number {
    return this.commit(operations);
  }

  /** The keys under `prefix` with their values, as etcd holds them now. */
  contents(prefix = ''): Map<string, string> {
    return new Map([...this.keys].filter(([key]) => key.startsWith(prefix)).map(([key, { value }]) => [key, value]));
  }

  /** The leases etcd holds now. */
  get leaseIds(): string[] {
    return [...this.leases.keys()];
  }

  /** Expires a lease as the server would (no keepalive in time): its keys go in one revision. */
  expireLease(leaseId: string): void {
    this.dropLease(leaseId);
  }

  /** From now on every call fails as with an unreachable server, and watch streams are down. */
  goDown(): void {
    this.unreachable = true;
  }

  /**
   * Reachable again: every watch stream resumes. With `gap`, the changes made while it was down
   * are never delivered (etcd3's resume can skip events): only a re-list finds them.
   */
  comeBack({ gap = false }: { gap?: boolean } = {}): void {
    this.unreachable = false;
    for (const watch of this.watches) {
      if (gap) watch.from = this.revision + 1;
      this.deliver(watch);
      queueMicrotask(() => watch.handlers.resumed());
    }
  }

  /** Sends every watch the history from `fromRevision` again, as a resumed stream replays it. */
  replay(fromRevision: number): void {
    for (const watch of this.watches) {
      const changes = this.history.filter((change) => change.revision >= fromRevision && watch.matches(change.key));
      if (changes.length > 0) queueMicrotask(() => watch.handlers.changes(changes));
    }
  }

  /** Ends every watch as etcd does on a compaction or a failure: they deliver nothing more. */
  breakWatches(reason = 'etcdserver: mvcc: required revision has been compacted'): void {
    const broken = [...this.watches];
    this.watches.clear();
    for (const watch of broken) queueMicrotask(() => watch.handlers.broken(new Error(reason)));
  }

  /** Everything gone, revisions start over: a server restarted on an empty data dir. */
  wipe(): void {
    this.keys.clear();
    this.leases.clear();
    this.history.length = 0;
    this.revision = 0;
  }

  // ——— inside ———

  private reachable(): void {
    if (this.unreachable) throw new GRPCUnavailableError('14 UNAVAILABLE: No connection established (in-memory etcd is down)');
  }

  private watch(name: string, matches: (key: string) => boolean, fromRevision: number, handlers: WatchHandlers): WatchHandle {
    const watch: MemoryWatch = { matches, handlers, from: fromRevision };
    this.watches.add(watch);
    this.deliver(watch);
    return {
      cancel: async () => {
        if (this.watches.delete(watch)) this.log.push(`cancel watch ${name}`);
      },
    };
  }

  private dropLease(leaseId: string): void {
    this.leases.delete(leaseId);
    const owned = [...this.keys].filter(([, stored]) => stored.lease === leaseId).map(([key]) => ({ delete: key }));
    if (owned.length > 0) this.commit(owned);
  }

  private commit(operations: MemoryOperation[]): number {
    const revision = this.revision + 1;
    const changes: KeyChange[] = [];
    for (const operation of operations) {
      if ('put' in operation) {
        this.keys.set(operation.put, { value: operation.value, lease: operation.lease });
        changes.push({ type: 'put', key: operation.put, value: operation.value, revision });
      } else if (this.keys.delete(operation.delete)) {
        changes.push({ type: 'delete', key: operation.delete, value: '', revision });
      }
    }
    if (changes.length === 0) return this.revision;
    this.revision = revision;
    this.history.push(...changes);
    if (!this.unreachable) for (const watch of this.watches) this.deliver(watch);
    return revision;
  }

  /** Sends `watch` what it has not seen yet, as one response, after the current call returns. */
  private deliver(watch: MemoryWatch): void {
    const changes = this.history.filter((change) => change.revision >= watch.from && watch.matches(change.key));
    watch.from = this.revision + 1;
    if (changes.length === 0) return;
    queueMicrotask(() => {
      if (this.watches.has(watch)) watch.handlers.changes(changes);
    });
  }
}
