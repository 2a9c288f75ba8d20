/** One change a watch delivers: a put or a delete of `key`, at etcd revision `revision`. */
export interface KeyChange {
  type: 'put' | 'delete';
  key: string;
  /** The new value of a put; '' for a delete. */
  value: string;
  /** The revision that made the change (the key's `mod_revision`). */
  revision: number;
  /** A put that created the key (its version 1): the prefix holds one key more. */
  created?: boolean;
}

/** What a watch tells its owner. Handlers never throw into the gateway: it guards them. */
export interface WatchHandlers {
  /**
   * One watch response: the changes of one or more revisions, in order (a transaction's share one
   * revision). A watch resumed on a new stream starts after the last change it delivered: nothing is
   * skipped, and what comes twice (a progress notification's revision) is at or below what was delivered.
   */
  changes(changes: readonly KeyChange[]): void;
  /**
   * The watch delivers nothing more, or nothing it should: etcd cancelled it because its revision
   * was compacted, or etcd answered from a revision below where the watch starts (its data were wiped).
   */
  broken(error: Error): void;
  /**
   * A watch asked from revision 0 ("from now on"): once, when etcd has created it, the revision it
   * was created at — it delivers every change after that one.
   */
  created?(revision: number): void;
}

export interface WatchHandle {
  cancel(): Promise<void>;
}

/**
 * How a read is served: `serializable` by whichever member (or grpc-proxy) gets it, from what it
 * has — at most a little behind, and spread over the cluster; `linearizable` as the leader has it now.
 */
export type ReadConsistency = 'serializable' | 'linearizable';

/** How many keys a prefix held at a revision, counted by etcd from its index (no value read). */
export interface PrefixCount {
  count: number;
  revision: number;
}

/** Every key under a prefix with its value, and the revision the list was read at. */
export interface PrefixList {
  entries: Map<string, string>;
  revision: number;
}

/**
 * The few etcd operations the library performs, in its own terms. The registry and the watches are
 * written against this, not against the etcd3 client: `Etcd3Gateway` is the real one, and the unit
 * specs (and the testing module) run the same state machines on `InMemoryEtcd`.
 *
 * Every request has a deadline (a third of `connectTimeoutMs`, at least 1 s: see `requestTimeoutMs`)
 * and rejects with the client's error when etcd cannot be reached or refuses; see `etcd-errors.ts`
 * for how errors are told apart.
 */
export abstract class EtcdGateway {
  /** Grants a lease of `ttlSeconds` and returns its id. */
  abstract grantLease(ttlSeconds: number): Promise<string>;
  /**
   * One keepalive: the TTL etcd answers, ≤ 0 when it no longer knows the lease. Rejects when no
   * answer came within `longestWaitMs` (less on a member known to answer fast), or the stream failed.
   */
  abstract keepAlive(leaseId: string, longestWaitMs: number): Promise<number>;
  /** Revokes the lease, which deletes every key attached to it. */
  abstract revokeLease(leaseId: string): Promise<void>;
  /** Puts `key` under `leaseId` and returns the revision of the write. */
  abstract put(key: string, value: string, leaseId: string): Promise<number>;
  abstract delete(key: string): Promise<void>;
  /**
   * Rejects (with etcd's permission error) if this client may not write `key`: a transaction whose
   * condition never holds writes nothing, but etcd checks its operations' permissions all the same.
   */
  abstract checkWritable(key: string): Promise<void>;
  /**
   * Lists every key under `prefix`, serializable unless said otherwise: a list followed by a watch
   * from its revision + 1 is exact whichever member served it (the watch brings what it lacked).
   */
  abstract list(prefix: string, consistency?: ReadConsistency): Promise<PrefixList>;
  /**
   * Lists several prefixes in few requests (the first lists of the services an app requires),
   * serializable. An entry is undefined where that prefix holds too many keys for a batch: list it on its own.
   */
  abstract listMany(prefixes: readonly string[]): Promise<(PrefixList | undefined)[]>;
  /**
   * How many keys `prefix` held at `revision` — or now, if etcd no longer keeps that revision
   * (compacted): the answer says which. Serializable; etcd counts from its index, reading no value.
   */
  abstract count(prefix: string, revision: number): Promise<PrefixCount>;
  /**
   * Watches `prefix` (every key that starts with it) from `fromRevision` on, or from now on (0: see
   * `WatchHandlers.created`), its deletes only with `only: 'deletes'`. Watches of the same prefix from
   * now on are what etcd grpc-proxy serves with one watch on etcd (see `PrefixWatch`).
   */
  abstract watchPrefix(prefix: string, fromRevision: number, handlers: WatchHandlers, only?: 'deletes'): WatchHandle;
  /**
   * Calls `listener` each time a connection to etcd becomes ready — at last, or again after an
   * outage — so that work waiting out a backoff can try again at once; returns what stops it.
   */
  abstract onConnected(listener: () => void): () => void;
}
