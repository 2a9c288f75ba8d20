import { createRequire } from 'node:module';
import { loadPackageDefinition, type ServiceClientConstructor } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';

/** etcd's gRPC services, by the names etcd3's RPC clients use. */
export type EtcdServiceName = 'KV' | 'Watch' | 'Lease' | 'Cluster' | 'Maintenance' | 'Auth';

export type EtcdServices = Record<EtcdServiceName, ServiceClientConstructor>;

let loaded: EtcdServices | undefined;

/**
 * The client constructors of etcd's gRPC services, from the proto file etcd3 ships and with the
 * loader options etcd3 uses: its request builders and response parsers expect exactly those
 * message shapes (keys as Buffers, 64-bit numbers as strings). Loaded on first use (about 35 ms)
 * and kept: the definitions never change, and every client in the process can share them.
 */
export function etcdServices(): EtcdServices {
  if (loaded) return loaded;
  const protoFile = createRequire(import.meta.url).resolve('etcd3/proto/rpc.proto');
  const definition = loadSync(protoFile, { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true });
  loaded = (loadPackageDefinition(definition) as unknown as { etcdserverpb: EtcdServices }).etcdserverpb;
  return loaded;
}
