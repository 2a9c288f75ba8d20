import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { Etcd3 } from 'etcd3';
import { RESOLVED_DISCOVERY_OPTIONS } from '../discovery.constants.js';
import type { ResolvedDiscoveryOptions } from '../options/discovery-module-options.interface.js';
import { faultHandling } from './fault-handling.js';
import { grpcKeepalive } from './grpc-keepalive.js';

/**
 * Owns the app's one etcd client. It is closed last, in `onApplicationShutdown`, after the registry
 * has revoked its lease and stopped its watchers (etcd3's `close()` closes channels only).
 */
@Injectable()
export class EtcdConnection implements OnApplicationShutdown {
  readonly client: Etcd3;
  private readonly cleanups: (() => Promise<void>)[] = [];

  constructor(@Inject(RESOLVED_DISCOVERY_OPTIONS) options: ResolvedDiscoveryOptions) {
    this.client = new Etcd3({
      ...options.etcd,
      faultHandling: faultHandling(options.etcd.faultHandling),
      grpcOptions: grpcKeepalive(options.etcd.grpcOptions),
    });
  }

  /**
   * Registers work that must finish before the client closes (cancelling watches, revoking the
   * lease): Nest runs the shutdown hooks of one module concurrently, so the order is kept here.
   */
  beforeClose(cleanup: () => Promise<void>): void {
    this.cleanups.push(cleanup);
  }

  async onApplicationShutdown(): Promise<void> {
    await Promise.all(this.cleanups.map((cleanup) => cleanup().catch(() => undefined)));
    this.client.close();
  }
}

/** gRPC call options with a deadline, so that no etcd call can hang on a frozen or partitioned server. */
export function withDeadline(timeoutMs: number): { deadline: number } {
  return { deadline: Date.now() + timeoutMs };
}
