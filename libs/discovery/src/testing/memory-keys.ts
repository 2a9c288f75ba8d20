import type { KeyChange } from '../etcd/etcd-gateway.js';
import type { MemoryWatches } from './memory-watches.js';

interface StoredKey {
  value: string;
  lease: string | undefined;
}

/** One operation of a transaction: a put (with a value) or a delete. */
export type MemoryOperation = { put: string; value: string; lease?: string } | { delete: string };

/**
 * The keys of an in-memory etcd, each with the lease that owns it, written in transactions of one
 * revision each, recorded in the history its watches read (`MemoryWatches`). The store alone:
 * `InMemoryEtcd` around it adds the leases, the faults a test injects and the log it checks.
 */
export class MemoryKeys {
  private readonly keys = new Map<string, StoredKey>();

  constructor(private readonly watches: MemoryWatches) {}

  /** The keys under `prefix` with their values. */
  under(prefix: string): Map<string, string> {
    const entries = new Map<string, string>();
    for (const [key, { value }] of this.keys) if (key.startsWith(prefix)) entries.set(key, value);
    return entries;
  }

  /** How many keys are under `prefix`. */
  count(prefix: string): number {
    let count = 0;
    for (const key of this.keys.keys()) if (key.startsWith(prefix)) count += 1;
    return count;
  }

  /** The deletions of the keys `leaseId` owns. */
  ownedBy(leaseId: string): MemoryOperation[] {
    return [...this.keys].filter(([, stored]) => stored.lease === leaseId).map(([key]) => ({ delete: key }));
  }

  /**
   * Applies `operations` as one revision (none if they change nothing), which the watches hear of
   * unless `heard` is false (once streams are up again, if `streamsDown`). Returns the revision of the last write.
   */
  commit(operations: MemoryOperation[], streamsDown: boolean, heard = true): number {
    const revision = this.watches.revision + 1;
    const changes: KeyChange[] = [];
    for (const operation of operations) {
      if ('put' in operation) {
        const created = !this.keys.has(operation.put);
        this.keys.set(operation.put, { value: operation.value, lease: operation.lease });
        changes.push({ type: 'put', key: operation.put, value: operation.value, revision, created });
      } else if (this.keys.delete(operation.delete)) {
        changes.push({ type: 'delete', key: operation.delete, value: '', revision });
      }
    }
    if (changes.length > 0 && heard) this.watches.record(changes, streamsDown);
    else if (changes.length > 0) this.watches.skip();
    return this.watches.revision;
  }

  clear(): void {
    this.keys.clear();
  }
}
