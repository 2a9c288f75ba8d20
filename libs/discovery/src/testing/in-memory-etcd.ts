import { EtcdLeaseInvalidError, GRPCUnavailableError } from 'etcd3';
import {
  EtcdGateway,
  type KeyChange,
  type PrefixCount,
  type PrefixList,
  type WatchHandle,
  type WatchHandlers,
} from '../etcd/etcd-gateway.js';
import { MemoryKeys, type MemoryOperation } from './memory-keys.js';
import { MemoryWatches } from './memory-watches.js';

/**
 * etcd in memory, with the semantics the library relies on: one revision per write or transaction,
 * leases that own keys, watches from a revision (replaying history), and on demand the faults the
 * real one has — unreachable, a watch stream lost and resumed, a change no watch hears of, a watch
 * cancelled, a lease expired, the data wiped. Watch responses arrive asynchronously, as over a network.
 */
export class InMemoryEtcd extends EtcdGateway {
  private readonly leases = new Map<string, number>();
  private nextLease = 1;
  private unreachable = false;
  /** Every operation, in order (`grant 1`, `put /services/a/x`, `revoke 1`, …): what specs check. */
  readonly log: string[] = [];
  private readonly watches = new MemoryWatches(this.log);
  private readonly keys = new MemoryKeys(this.watches);
  private readonly connectedListeners = new Set<() => void>();

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
    return { entries: this.keys.under(prefix), revision: this.watches.revision };
  }

  async listMany(prefixes: readonly string[]): Promise<(PrefixList | undefined)[]> {
    return Promise.all(prefixes.map((prefix) => this.list(prefix)));
  }

  /** Counted now (no history of counts is kept): the answer's revision says so, as etcd's does after a compaction. */
  async count(prefix: string): Promise<PrefixCount> {
    this.reachable();
    this.log.push(`count ${prefix}`);
    return { count: this.keys.count(prefix), revision: this.watches.revision };
  }

  watchPrefix(prefix: string, fromRevision: number, handlers: WatchHandlers, only?: 'deletes'): WatchHandle {
    const matches = (change: KeyChange) =>
      change.key.startsWith(prefix) && (only !== 'deletes' || change.type === 'delete');
    return this.watches.watch(prefix, matches, fromRevision, handlers);
  }

  onConnected(listener: () => void): () => void {
    this.connectedListeners.add(listener);
    return () => this.connectedListeners.delete(listener);
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
    return this.keys.under(prefix);
  }

  /** The revision of the last write. */
  get currentRevision(): number {
    return this.watches.revision;
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
   * Reachable again: every watch resumes where it left off (as the library's watch stream does) and gets what changed
   * meanwhile.
   */
  comeBack(): void {
    this.unreachable = false;
    this.watches.resumeAll();
    for (const listener of [...this.connectedListeners]) listener();
  }

  /** Writes as `transaction()` does, but no watch ever hears of it: what only the periodic check finds. */
  lostTransaction(operations: MemoryOperation[]): number {
    return this.commit(operations, false);
  }

  /** Sends every watch the history from `fromRevision` again, as a resumed stream replays it. */
  replay(fromRevision: number): void {
    this.watches.replay(fromRevision);
  }

  /** Ends every watch as etcd does on a compaction or a failure: they deliver nothing more. */
  breakWatches(reason = 'etcdserver: mvcc: required revision has been compacted'): void {
    this.watches.breakAll(reason);
  }

  /** Everything gone, revisions start over: a server restarted on an empty data dir. */
  wipe(): void {
    this.keys.clear();
    this.leases.clear();
    this.watches.clear();
  }

  // ——— inside ———

  private reachable(): void {
    if (this.unreachable)
      throw new GRPCUnavailableError('14 UNAVAILABLE: No connection established (in-memory etcd is down)');
  }

  private dropLease(leaseId: string): void {
    this.leases.delete(leaseId);
    const owned = this.keys.ownedBy(leaseId);
    if (owned.length > 0) this.commit(owned);
  }

  /** One transaction (see `MemoryKeys.commit`); while down, its watches hear of it once they resume. */
  private commit(operations: MemoryOperation[], heard = true): number {
    return this.keys.commit(operations, this.unreachable, heard);
  }
}
