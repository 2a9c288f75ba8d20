import type { IOptions } from 'etcd3';

/**
 * gRPC options of the etcd channels. Entries in `etcd.grpcOptions` replace these.
 *
 * - HTTP/2 keepalive pings: a member that is frozen or cut off by a partition keeps its TCP
 *   connection open, and without pings a watch stream on it waits forever, silently. With them,
 *   grpc-js closes the transport after 10 s + 5 s of silence and the watch reconnects to another
 *   member (then re-lists). 10 s respects etcd's `--grpc-keepalive-min-time` (5 s), and pings are
 *   only sent while a call or stream is active.
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
    'grpc.keepalive_time_ms': 10_000,
    'grpc.keepalive_timeout_ms': 5_000,
    'grpc.max_receive_message_length': 64 * 1024 * 1024,
    'grpc.initial_reconnect_backoff_ms': 100,
    'grpc.max_reconnect_backoff_ms': 1000,
    ...given,
  };
}
