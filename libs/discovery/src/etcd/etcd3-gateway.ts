import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { Range } from 'etcd3';
import { RESOLVED_DISCOVERY_OPTIONS } from '../discovery.constants.js';
import type { ResolvedDiscoveryOptions } from '../options/discovery-module-options.interface.js';
import { withDeadline } from './deadline.js';
import { EtcdClient } from './etcd-client.js';
import { EtcdConnections } from './etcd-connections.js';
import { keepAliveOnce } from './etcd3-keepalive.js';
import { watch, type StalledWatchSettings } from './etcd3-watch.js';
import { EtcdGateway, type PrefixCount, type PrefixList, type ReadConsistency, type WatchHandle, type WatchHandlers } from './etcd-gateway.js';
import { isCompacted, isFutureRevision } from './etcd-errors.js';
import { BatchedCounts } from './batched-counts.js';
import { faultHandling } from './fault-handling.js';
import { grpcOptions } from './grpc-options.js';
import { reconnectWatchStreamNow } from './watch-stream-restart.js';


/** Keys per page of a list: about 0.4 MB of values as the registry writes them. */
const LIST_PAGE = 2000;
/** Prefixes per transaction of `listMany`: etcd's default `--max-txn-ops` is 128. */
const RANGES_PER_TRANSACTION = 128;

/**
 * The gateway on etcd3: the app's one etcd client — etcd3's builders and watch manager on the
 * library's own connections, one per member (see `EtcdConnections`) — created from the options and
 * closed last, in `onApplicationShutdown` (after the registry has revoked its lease and the watches
 * have stopped: they depend on this provider, so Nest runs their shutdown hooks first).
 */
@Injectable()
export class Etcd3Gateway extends EtcdGateway implements OnApplicationShutdown {
  private readonly connections: EtcdConnections;
  private readonly client: EtcdClient;
  private readonly callTimeoutMs: number;
  private readonly counts = new BatchedCounts((asked) => this.countTogether(asked));

  constructor(@Inject(RESOLVED_DISCOVERY_OPTIONS) options: ResolvedDiscoveryOptions) {
    super();
    this.callTimeoutMs = options.connectTimeoutMs;
    const etcdOptions = {
      ...options.etcd,
      faultHandling: faultHandling(options.etcd.faultHandling),
      grpcOptions: grpcOptions(options.etcd.grpcOptions),
    };
    this.connections = new EtcdConnections(etcdOptions, this.callTimeoutMs);
    this.client = new EtcdClient(this.connections, etcdOptions);
    // The watch stream waits out etcd3's backoff after a failure (up to 2 s): resume it at once.
    this.connections.onConnected(() => reconnectWatchStreamNow(this.client));
  }

  async grantLease(ttlSeconds: number): Promise<string> {
    return (await this.client.leaseClient.leaseGrant({ TTL: ttlSeconds }, this.deadline())).ID;
  }

  keepAlive(leaseId: string, timeoutMs: number): Promise<number> {
    return keepAliveOnce(this.client.leaseClient, leaseId, timeoutMs);
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
      const page = await this.client.kv.range({ key: from, range_end: end, limit: LIST_PAGE, revision, serializable }, this.deadline());
      if (revision === 0) revision = Number(page.header.revision);
      for (const kv of page.kvs) entries.set(kv.key.toString(), kv.value.toString());
      if (!page.more || page.kvs.length === 0) return { entries, revision };
      // The next page starts just after the last key: that key with a zero byte appended.
      from = Buffer.concat([page.kvs[page.kvs.length - 1]!.key, Buffer.from([0])]);
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

  /** Batched with the other counts of the same tick (see `BatchedCounts`). */
  count(prefix: string, revision: number): Promise<PrefixCount> {
    return this.counts.count(prefix, revision);
  }

  /**
   * One transaction of count-only ranges, each at the revision asked, serializable. When one of
   * those revisions is compacted away, all are counted now (the answers say so); when the member is
   * behind one of them, the leader counts: still one more request, never one per prefix.
   */
  private async countTogether(asked: readonly { prefix: string; revision: number }[]): Promise<PrefixCount[]> {
    try {
      return await this.countRanges(asked, true, true);
    } catch (error) {
      if (isCompacted(error)) return this.countRanges(asked, false, true);
      if (isFutureRevision(error)) return this.countRanges(asked, true, false);
      throw error;
    }
  }

  private async countRanges(asked: readonly { prefix: string; revision: number }[], atRevision: boolean, serializable: boolean): Promise<PrefixCount[]> {
    const ranges = asked.map(({ prefix, revision }) => {
      const { start: key, end } = Range.prefix(prefix);
      return { request_range: { key, range_end: end, count_only: true, revision: atRevision ? revision : 0, serializable } };
    });
    const response = await this.client.kv.txn({ success: ranges }, this.deadline());
    const now = Number(response.header.revision);
    return response.responses.map(({ response_range: range }, index) => ({ count: Number(range!.count), revision: (atRevision && asked[index]!.revision) || now }));
  }

  watchPrefix(prefix: string, fromRevision: number, handlers: WatchHandlers): WatchHandle {
    return watch(this.client.watch().prefix(prefix).startRevision(String(fromRevision)).watcher(), fromRevision, this.watchSettings(), handlers);
  }

  watchKey(key: string, fromRevision: number, handlers: WatchHandlers): WatchHandle {
    return watch(this.client.watch().key(key).startRevision(String(fromRevision)).watcher(), fromRevision, this.watchSettings(), handlers);
  }

  onConnected(listener: () => void): () => void {
    return this.connections.onConnected(listener);
  }

  /** Closes the channels, last: the watches and the lease were stopped by their owners. */
  onApplicationShutdown(): void {
    this.connections.close();
  }

  private watchSettings(): StalledWatchSettings {
    return { attachTimeoutMs: this.callTimeoutMs, isolateStalled: () => this.connections.isolateStalled(2 * this.callTimeoutMs) };
  }

  private deadline(): { deadline: number } {
    return withDeadline(this.callTimeoutMs);
  }
}
