import { Namespace, type IOptions } from 'etcd3';
import type { EtcdConnections } from './etcd-connections.js';

/**
 * etcd3's client — its request builders, RPC clients and watch manager — on our connections instead
 * of etcd3's own pool (see `EtcdConnections`). `Namespace` is the part of `Etcd3` that holds them;
 * with an empty prefix it reads and writes keys as they are.
 */
export class EtcdClient extends Namespace {
  constructor(connections: EtcdConnections, options: IOptions) {
    // etcd3 types the pool as its ConnectionPool class; what Namespace and the RPC clients use of it
    // is etcd3's ICallable interface, which EtcdConnections implements (etcd3 1.1.2).
    super(Buffer.alloc(0), connections as never, options);
  }
}
