import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { Range } from 'etcd3';
import { RESOLVED_DISCOVERY_OPTIONS } from '../discovery.constants.js';
import type { ResolvedDiscoveryOptions } from '../options/discovery-module-options.interface.js';
import { withDeadline } from './deadline.js';
import { EtcdClient } from './etcd-client.js';
import { EtcdConnections } from './etcd-connections.js';
import { LeaseKeepAlives } from './lease-keepalives.js';
import { WatchStream } from './watch-stream.js';
import {
  EtcdGateway,
  type PrefixCount,
  type PrefixList,
  type ReadConsistency,
  type WatchHandle,
  type WatchHandlers,
} from './etcd-gateway.js';
import { BatchedCounts } from './batched-counts.js';
import { countInOneTransaction } from './count-transaction.js';
import { faultHandling } from './fault-handling.js';
import { grpcOptions } from './grpc-options.js';
import { libraryLogger } from '../util/library-logger.js';

/**
 * The deadline of one request: a third of `connectTimeoutMs` (at least a second), so that a request
 * that hangs (the first through `etcd grpc-proxy` after the cluster's leader died hung 3 s) leaves
 * time within that window to ask again.
 */
export function requestTimeoutMs(connectTimeoutMs: number): number {
  return Math.min(connectTimeoutMs, Math.max(1000, Math.round(connectTimeoutMs / 3)));
}

/** Keys per page of a list: about 0.4 MB of values as the registry writes them. */
const LIST_PAGE = 2000;
/** Prefixes per transaction of `listMany`: etcd's default `--max-txn-ops` is 128. */
const RANGES_PER_TRANSACTION = 128;

/**
 * The gateway on etcd: the app's one etcd client — etcd3's request builders on the library's own
 * connections, one per member (see `EtcdConnections`), and the library's own two streams: every
 * watch on one Watch stream (`WatchStream`), every keepalive on one LeaseKeepAlive stream
 * (`LeaseKeepAlives`) — created from the options and closed last, in `onApplicationShutdown` (after
 * the registry has revoked its lease and the watches have stopped: they depend on this provider, so
 * Nest runs their shutdown hooks first).
 */
@Injectable()
export class Etcd3Gateway extends EtcdGateway implements OnApplicationShutdown {
  private readonly connections: EtcdConnections;
  private readonly client: EtcdClient;
  private readonly callTimeoutMs: number;
  private readonly counts = new BatchedCounts((asked) =>
    countInOneTransaction(this.client.kv, asked, this.callTimeoutMs),
  );
  private readonly watches: WatchStream;
  private readonly keepAlives: LeaseKeepAlives;

  constructor(@Inject(RESOLVED_DISCOVERY_OPTIONS) options: ResolvedDiscoveryOptions) {
    super();
    this.callTimeoutMs = requestTimeoutMs(options.connectTimeoutMs);
    const etcdOptions = {
      ...options.etcd,
      faultHandling: faultHandling(options.etcd.faultHandling),
      grpcOptions: grpcOptions(options.etcd.grpcOptions),
    };
    this.connections = new EtcdConnections(etcdOptions, this.callTimeoutMs);
    this.client = new EtcdClient(this.connections, etcdOptions);
    const logger = libraryLogger('EtcdGateway', options);
    this.watches = new WatchStream(this.connections, {
      attachTimeoutMs: options.connectTimeoutMs,
      checkTimeoutMs: this.callTimeoutMs,
      warn: (message) => void logger.warn(message),
    });
    this.keepAlives = new LeaseKeepAlives(this.connections);
  }

  async grantLease(ttlSeconds: number): Promise<string> {
    return (await this.client.leaseClient.leaseGrant({ TTL: ttlSeconds }, this.deadline())).ID;
  }

  keepAlive(leaseId: string, longestWaitMs: number): Promise<number> {
    return this.keepAlives.keepAlive(leaseId, longestWaitMs);
  }

  async revokeLease(leaseId: string): Promise<void> {
    await this.client.leaseClient.leaseRevoke({ ID: leaseId }, this.deadline());
  }

  async put(key: string, value: string, leaseId: string): Promise<number> {
    const response = await this.client.put(key).value(value).lease(leaseId).options(this.deadline()).exec();
    return Number(response.header.revision);
  }

  async delete(key: string): Promise<void> {
    await this.client.delete().key(key).options(this.deadline()).exec();
  }

  async checkWritable(key: string): Promise<void> {
    // The builder has its own `then`: commit() it, never await it.
    await this.client.if(key, 'Version', '<', 0).then(this.client.put(key).value('')).options(this.deadline()).commit();
  }

  /**
   * In pages, all read at the revision of the first: one consistent snapshot however large the
   * prefix (100,000 endpoints are some 15 MB), and the revision where the watch must start. Only the
   * first page may be serializable: a later one read at its revision from a member further behind
   * would be refused (a future revision), while a linearizable read of a past revision never is.
   */
  async list(prefix: string, consistency: ReadConsistency = 'serializable'): Promise<PrefixList> {
    const { end } = Range.prefix(prefix);
    const entries = new Map<string, string>();
    let from = Buffer.from(prefix);
    let revision = 0;
    for (;;) {
      const serializable = revision === 0 && consistency === 'serializable';
      const page = await this.client.kv.range(
        { key: from, range_end: end, limit: LIST_PAGE, revision, serializable },
        this.deadline(),
      );
      if (revision === 0) revision = Number(page.header.revision);
      for (const kv of page.kvs) entries.set(kv.key.toString(), kv.value.toString());
      if (!page.more || page.kvs.length === 0) return { entries, revision };
      // The next page starts just after the last key: that key with a zero byte appended.
      from = Buffer.concat([page.kvs[page.kvs.length - 1].key, Buffer.from([0])]);
    }
  }

  /**
   * One transaction of ranges per 128 prefixes (all of a transaction's ranges read at one revision),
   * instead of a request per prefix. A prefix with more than a page of keys is left to `list()`.
   */
  async listMany(prefixes: readonly string[]): Promise<(PrefixList | undefined)[]> {
    const batches: Promise<(PrefixList | undefined)[]>[] = [];
    for (let start = 0; start < prefixes.length; start += RANGES_PER_TRANSACTION) {
      const batch = prefixes.slice(start, start + RANGES_PER_TRANSACTION);
      const ranges = batch.map((prefix) => {
        const { start: key, end } = Range.prefix(prefix);
        return { request_range: { key, range_end: end, limit: LIST_PAGE, serializable: true } };
      });
      batches.push(
        this.client.kv.txn({ success: ranges }, this.deadline()).then((response) => {
          const revision = Number(response.header.revision);
          return response.responses.map(({ response_range: range }) => {
            if (!range || range.more) return undefined;
            return { entries: new Map(range.kvs.map((kv) => [kv.key.toString(), kv.value.toString()])), revision };
          });
        }),
      );
    }
    return (await Promise.all(batches)).flat();
  }

  /** Batched with the other counts of the same tick (see `BatchedCounts`), counted in one transaction per batch. */
  count(prefix: string, revision: number): Promise<PrefixCount> {
    return this.counts.count(prefix, revision);
  }

  watchPrefix(prefix: string, fromRevision: number, handlers: WatchHandlers, only?: 'deletes'): WatchHandle {
    const { start, end } = Range.prefix(prefix);
    return this.watches.watch(
      { name: prefix, key: start, rangeEnd: end, deletesOnly: only === 'deletes' },
      fromRevision,
      handlers,
    );
  }

  onConnected(listener: () => void): () => void {
    return this.connections.onConnected(listener);
  }

  /** Closes the streams and the channels, last: the watches and the lease were stopped by their owners. */
  onApplicationShutdown(): void {
    this.watches.close();
    this.keepAlives.close();
    this.connections.close();
  }

  private deadline(): { deadline: number } {
    return withDeadline(this.callTimeoutMs);
  }
}
