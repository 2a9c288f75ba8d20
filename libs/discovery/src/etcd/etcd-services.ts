import { createRequire } from 'node:module';
import {
  loadPackageDefinition,
  makeGenericClientConstructor,
  type ServiceClientConstructor,
  type ServiceDefinition,
} from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { decodeKeepAliveResponse, decodeWatchResponse, encodeKeepAliveRequest } from './stream-codecs.js';

/** etcd's gRPC services, by the names etcd3's RPC clients use. */
export type EtcdServiceName = 'KV' | 'Watch' | 'Lease' | 'Cluster' | 'Maintenance' | 'Auth';

export type EtcdServices = Record<EtcdServiceName, ServiceClientConstructor>;

let loaded: EtcdServices | undefined;

/**
 * The client constructors of etcd's gRPC services, from the proto file etcd3 ships and with the
 * loader options etcd3 uses: its request builders and response parsers expect exactly those
 * message shapes (keys as Buffers, 64-bit numbers as strings). The two streams the library runs
 * itself — Watch and LeaseKeepAlive — decode their answers with `stream-codecs.ts` instead: what an
 * app receives most, at a fraction of the cost. Loaded on first use (about 35 ms) and kept: the
 * definitions never change, and every client in the process can share them.
 */
export function etcdServices(): EtcdServices {
  if (loaded) return loaded;
  const protoFile = createRequire(import.meta.url).resolve('etcd3/proto/rpc.proto');
  const definition = loadSync(protoFile, {
    keepCase: true,
    longs: String,
    enums: String,
    defaults: true,
    oneofs: true,
  });
  const services = (loadPackageDefinition(definition) as unknown as { etcdserverpb: EtcdServices }).etcdserverpb;
  loaded = {
    ...services,
    Watch: withCodec(services.Watch, 'Watch', 'Watch', { responseDeserialize: decodeWatchResponse }),
    Lease: withCodec(services.Lease, 'Lease', 'LeaseKeepAlive', {
      requestSerialize: encodeKeepAliveRequest,
      responseDeserialize: decodeKeepAliveResponse,
    }),
  };
  return loaded;
}

/** `service` with `method` encoding or decoding its messages as `codec` says. */
function withCodec(
  service: ServiceClientConstructor,
  name: string,
  method: string,
  codec: Partial<ServiceDefinition[string]>,
): ServiceClientConstructor {
  const methods: ServiceDefinition = { ...service.service, [method]: { ...service.service[method], ...codec } };
  return makeGenericClientConstructor(methods, name);
}
