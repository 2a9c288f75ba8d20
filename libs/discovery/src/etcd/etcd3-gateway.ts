import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { castGrpcError, Etcd3, type IWatchResponse, type Watcher } from 'etcd3';
import { RESOLVED_DISCOVERY_OPTIONS } from '../discovery.constants.js';
import type { ResolvedDiscoveryOptions } from '../options/discovery-module-options.interface.js';
import { withTimeout } from '../util/with-timeout.js';
import { withDeadline } from './deadline.js';
import { EtcdGateway, type KeyChange, type PrefixList, type WatchHandle, type WatchHandlers } from './etcd-gateway.js';
import { faultHandling } from './fault-handling.js';
import { grpcKeepalive } from './grpc-keepalive.js';

type LeaseClient = Etcd3['leaseClient'];

/**
 * The gateway on the etcd3 client: the app's one etcd client, created from the options and closed
 * last, in `onApplicationShutdown` (after the registry has revoked its lease and the watches have
 * stopped: they depend on this provider, so Nest runs their shutdown hooks first).
 */
@Injectable()
export class Etcd3Gateway extends EtcdGateway implements OnApplicationShutdown {
  private readonly client: Etcd3;
  private readonly callTimeoutMs: number;

  constructor(@Inject(RESOLVED_DISCOVERY_OPTIONS) options: ResolvedDiscoveryOptions) {
    super();
    this.callTimeoutMs = options.connectTimeoutMs;
    this.client = new Etcd3({
      ...options.etcd,
      faultHandling: faultHandling(options.etcd.faultHandling),
      grpcOptions: grpcKeepalive(options.etcd.grpcOptions),
    });
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

  async list(prefix: string): Promise<PrefixList> {
    // exec(), not strings(): the header's revision is where the watch must start.
    const response = await this.client.getAll().prefix(prefix).options(this.deadline()).exec();
    const entries = new Map<string, string>();
    for (const kv of response.kvs) entries.set(kv.key.toString(), kv.value.toString());
    return { entries, revision: Number(response.header.revision) };
  }

  watchPrefix(prefix: string, fromRevision: number, handlers: WatchHandlers): WatchHandle {
    return watch(this.client.watch().prefix(prefix).startRevision(String(fromRevision)).watcher(), handlers);
  }

  watchKey(key: string, fromRevision: number, handlers: WatchHandlers): WatchHandle {
    return watch(this.client.watch().key(key).startRevision(String(fromRevision)).watcher(), handlers);
  }

  /** etcd3's close() closes the channels only: watches and leases were stopped by their owners. */
  onApplicationShutdown(): void {
    this.client.close();
  }

  private deadline(): { deadline: number } {
    return withDeadline(this.callTimeoutMs);
  }
}

/**
 * Sends one keepalive for `leaseId` and returns the TTL etcd answers: > 0 while the lease lives,
 * ≤ 0 when etcd no longer knows it. Rejects when etcd cannot be reached before the deadline.
 */
async function keepAliveOnce(leases: LeaseClient, leaseId: string, timeoutMs: number): Promise<number> {
  // Our own timer as well as the gRPC deadline: a keepalive that never settles (seen against a
  // frozen member) would otherwise hold up every later one, and the lease would expire unnoticed.
  let stream: Awaited<ReturnType<LeaseClient['leaseKeepAlive']>> | undefined;
  const answer = (async () => {
    stream = await leases.leaseKeepAlive(withDeadline(timeoutMs));
    const opened = stream;
    return new Promise<number>((resolve, reject) => {
      opened.on('error', (error: Error) => reject(castGrpcError(error)));
      opened.on('data', (response: { TTL?: string | number }) => {
        resolve(Number(response.TTL ?? 0));
        opened.end();
      });
      opened.write({ ID: leaseId });
    });
  })();
  try {
    return await withTimeout(answer, timeoutMs + 100, () => new Error(`no keepalive answer within ${timeoutMs} ms`));
  } catch (error) {
    (stream as { cancel?: () => void } | undefined)?.cancel?.();
    answer.catch(() => undefined);
    throw error;
  }
}

/** Wires an etcd3 watcher to `handlers`; `watcher()` attaches synchronously, before anything is emitted. */
function watch(watcher: Watcher, handlers: WatchHandlers): WatchHandle {
  let reconnecting = false;
  let cancelled = false;
  // An exception must never reach etcd3's stream handler, which would rethrow it and end the process.
  const guarded = (action: () => void) => {
    if (cancelled) return;
    try {
      action();
    } catch {
      // The owner's bug; the watch goes on.
    }
  };
  watcher.on('data', (response: IWatchResponse) => guarded(() => handlers.changes(response.events.map(toKeyChange))));
  watcher.on('disconnected', () => {
    reconnecting = true;
  });
  watcher.on('connected', () => {
    if (reconnecting) guarded(() => handlers.resumed());
    reconnecting = false;
  });
  // Cancelled by etcd (compaction) or failed: etcd3 drops the watcher. Listening also keeps etcd3
  // from throwing an unhandled 'error' inside its gRPC stream handler.
  watcher.on('error', (error: Error) => guarded(() => handlers.broken(error)));
  return {
    cancel: async () => {
      cancelled = true;
      await cancelWatcher(watcher);
    },
  };
}

function toKeyChange(event: IWatchResponse['events'][number]): KeyChange {
  return {
    type: event.type === 'Put' ? 'put' : 'delete',
    key: event.kv.key.toString(),
    value: event.type === 'Put' ? event.kv.value.toString() : '',
    revision: Number(event.kv.mod_revision),
  };
}

/**
 * Cancelling waits for etcd's answer while connected; a stalled cancel (etcd frozen, or gone) must
 * not hold up a shutdown or a re-watch, so it is bounded.
 */
async function cancelWatcher(watcher: Watcher, timeoutMs = 1000): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    watcher.cancel().catch(() => undefined),
    new Promise((resolve) => {
      timer = setTimeout(resolve, timeoutMs);
    }),
  ]);
  clearTimeout(timer);
}
