import { Injectable, type OnApplicationShutdown } from '@nestjs/common';
import type { ConnectionOptions } from 'node:tls';
import type { Subscription } from 'rxjs';
import { Pool } from 'undici';
import { instanceKey } from '../codec/instance-key.js';
import type { ServiceEndpoint } from '../service-endpoint.interface.js';
import { CallPolicies } from '../calls/call-policies.js';
import { ServiceWatches } from '../watch/service-watches.js';

/** TLS of the connections to a service's instances (https://): undici's `connect` options. */
export type InstanceTls = Pick<ConnectionOptions, 'ca' | 'cert' | 'key' | 'servername' | 'rejectUnauthorized'>;

/** How long an idle keep-alive connection to an instance stays open. */
const KEEP_ALIVE_MS = 10_000;

/**
 * The keep-alive connections `DiscoveryClient.fetch()` uses: one undici Pool per instance (and
 * protocol), opened on its first request and closed as soon as the instance leaves its service's
 * list — a connection to an instance that is gone is never reused, nor left open. The TLS options of
 * the first request to an instance are its pool's.
 */
@Injectable()
export class InstancePools implements OnApplicationShutdown {
  /** By service, then by `protocol//id@address`. */
  private readonly pools = new Map<string, Map<string, { instance: string; pool: Pool }>>();
  private readonly byEndpoint = {
    'http:': new WeakMap<ServiceEndpoint, Pool>(),
    'https:': new WeakMap<ServiceEndpoint, Pool>(),
  };
  private readonly departures = new Map<string, Subscription>();
  private closed = false;

  constructor(
    private readonly watches: ServiceWatches,
    private readonly policies: CallPolicies,
  ) {}

  poolFor(endpoint: ServiceEndpoint, protocol: 'http:' | 'https:', tls: InstanceTls | undefined): Pool {
    // By the endpoint object first: the same while the endpoint is, and no key to build per request.
    const known = this.byEndpoint[protocol].get(endpoint);
    if (known !== undefined && !known.closed) return known;
    const pool = this.poolByKey(endpoint, protocol, tls);
    this.byEndpoint[protocol].set(endpoint, pool);
    return pool;
  }

  /**
   * Whether a hedge may go to `endpoint` now without growing its pool: it has no connection yet (a first one is
   * opened, as for any request), none of its connections is in use, or two or more are idle. A hedge never takes
   * the last idle connection of an instance that is answering other calls: the next call to it would open a new one
   * (measured: hedging then opened connections that calling without it did not). See `RunSettings.hedgeFits`.
   */
  hedgeFits(endpoint: ServiceEndpoint): boolean {
    const pool = this.existingPool(endpoint, 'http:') ?? this.existingPool(endpoint, 'https:');
    if (pool === undefined) return true;
    const { connected, free } = pool.stats;
    return free === connected || free > 1;
  }

  /** The open pool of `endpoint` for `protocol`, if it has one: by the endpoint object, else by its instance's key. */
  private existingPool(endpoint: ServiceEndpoint, protocol: 'http:' | 'https:'): Pool | undefined {
    const pool =
      this.byEndpoint[protocol].get(endpoint) ??
      this.pools.get(endpoint.service)?.get(`${protocol}//${instanceKey(endpoint)}`)?.pool;
    return pool?.closed === false ? pool : undefined;
  }

  private poolByKey(endpoint: ServiceEndpoint, protocol: 'http:' | 'https:', tls: InstanceTls | undefined): Pool {
    let pools = this.pools.get(endpoint.service);
    if (pools === undefined) {
      pools = new Map();
      this.pools.set(endpoint.service, pools);
      this.followDepartures(endpoint.service);
    }
    const instance = instanceKey(endpoint);
    const key = `${protocol}//${instance}`;
    let entry = pools.get(key);
    if (entry === undefined) {
      const connect = protocol === 'https:' ? { servername: endpoint.service, ...tls } : undefined;
      // A body that stops coming for the service's whole call timeout errors (undici's default waits
      // 5 minutes): the answer of a call that then hangs mid-body is not a wait without end either.
      const { timeoutMs: bodyTimeout, connectionsPerInstance: connections } = this.policies.of(endpoint.service).policy;
      entry = {
        instance,
        pool: new Pool(`${protocol}//${endpoint.address}`, {
          connect,
          keepAliveTimeout: KEEP_ALIVE_MS,
          bodyTimeout,
          connections,
        }),
      };
      pools.set(key, entry);
    }
    return entry.pool;
  }

  async onApplicationShutdown(): Promise<void> {
    this.closed = true;
    for (const subscription of this.departures.values()) subscription.unsubscribe();
    const all = [...this.pools.values()].flatMap((pools) => [...pools.values()]);
    this.pools.clear();
    await Promise.all(all.map(({ pool }) => pool.destroy().catch(() => undefined)));
  }

  /** Each new list of `service`: the pools of instances no longer in it are closed. */
  private followDepartures(service: string): void {
    if (this.closed) return;
    const subscription = this.watches
      .observe(service, (watch) => watch.endpoints$)
      .subscribe((endpoints) => {
        const pools = this.pools.get(service);
        if (pools === undefined) return;
        const present = new Set(endpoints.map(instanceKey));
        for (const [key, { instance, pool }] of pools) {
          if (present.has(instance)) continue;
          pools.delete(key);
          // Gracefully: a departing instance drains before it leaves, so requests in flight may still be answered.
          void pool.close().catch(() => undefined);
        }
      });
    this.departures.set(service, subscription);
  }
}
