import type { IOptions } from 'etcd3';

/**
 * gRPC options of the etcd channels. Entries in `etcd.grpcOptions` replace these.
 *
 * - No HTTP/2 keepalive pings (grpc-js' default): they found a member that was frozen or cut off
 *   by a partition, but cost an app at rest a fifth of its CPU; a member the streams are on is
 *   checked by the keepalives' answers, else after 10 s of silence (see `checkAlive`).
 * - A larger receive limit: lists come in pages of 2,000 keys, but etcd allows values up to
 *   1.5 MiB, and grpc-js' default of 4 MiB would fail a page with a few large ones.
 * - Reconnects to a member that is down every 100 ms at first, then at most every second (±20 %
 *   jitter), instead of grpc-js' 1 s growing to 2 minutes: each member keeps one channel for the
 *   app's life (see `EtcdMember`), so this backoff decides how soon the app is back once etcd is.
 *   A refused connect costs the member nothing worth counting; a fleet's reconnects spread over
 *   the jitter.
 */
export function grpcOptions(given: IOptions['grpcOptions']): NonNullable<IOptions['grpcOptions']> {
  return {
    'grpc.max_receive_message_length': 64 * 1024 * 1024,
    'grpc.initial_reconnect_backoff_ms': 100,
    'grpc.max_reconnect_backoff_ms': 1000,
    ...given,
  };
}
