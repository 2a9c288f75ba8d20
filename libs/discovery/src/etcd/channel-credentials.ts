import { credentials as grpcCredentials, type ChannelCredentials } from '@grpc/grpc-js';
import type { IOptions } from 'etcd3';

/**
 * TLS with the given certificates, or with the system's CAs when the hosts say `https://` (the
 * options checked at init that all do, or none); else plain.
 */
export function channelCredentials(hosts: readonly string[], given: IOptions['credentials']): ChannelCredentials {
  if (given) return grpcCredentials.createSsl(given.rootCertificate, given.privateKey, given.certChain);
  return hosts.some((host) => host.startsWith('https://'))
    ? grpcCredentials.createSsl()
    : grpcCredentials.createInsecure();
}

/** `host:port`, without `http://` or `https://`. */
export function withoutScheme(host: string): string {
  return host.replace(/^https?:\/\//, '');
}
