import type { IOptions } from 'etcd3';

/**
 * HTTP/2 keepalive pings on the etcd channels. A member that is frozen or cut off by a partition
 * keeps its TCP connection open: without pings a watch stream on it waits forever, silently.
 * With them, grpc-js closes the transport after 10 s + 5 s of silence and the watch reconnects to
 * another member (then re-lists). 10 s respects etcd's `--grpc-keepalive-min-time` (5 s), and pings
 * are only sent while a call or stream is active. Entries in `etcd.grpcOptions` replace these.
 */
export function grpcKeepalive(given: IOptions['grpcOptions']): NonNullable<IOptions['grpcOptions']> {
  return {
    'grpc.keepalive_time_ms': 10_000,
    'grpc.keepalive_timeout_ms': 5_000,
    ...given,
  };
}
