import { castGrpcError, GRPCDeadlineExceededError } from 'etcd3';
import type { EtcdConnections } from './etcd-connections.js';
import type { EtcdMember } from './etcd-member.js';
import { unaryCall } from './unary-call.js';

/** How long the member the streams are on may stay silent before it is asked whether it is alive. */
export const SILENCE_MS = 10_000;

/**
 * Asks `member` — the one the app's streams are on, silent for `SILENCE_MS` — whether it is alive,
 * with the smallest read there is: a count of `key` (a prefix the app watches, so that its role may
 * read it), serializable, with the require-leader flag. Any answer, even a refusal, says it is alive;
 * none within `timeoutMs`, or "no leader", marks it (`markUnanswered`), and the streams move.
 *
 * A member that is frozen or partitioned keeps its TCP connection, and a watch on it waits, silent.
 * gRPC keepalive pings (every 10 s on every connection with a stream) found it before, but cost an
 * app at rest a fifth of its CPU (fleet bench, 125 apps a process). An app with a lease hears from the
 * member every TTL/3 (its keepalives' answers): it never asks. One without a lease, or with a TTL over
 * 30 s, asks every 10 s — a fraction of what a keepalive costs etcd, and through `etcd grpc-proxy`
 * answered from the proxy's cache.
 */
export async function checkAlive(
  connections: EtcdConnections,
  member: EtcdMember,
  key: Buffer,
  rangeEnd: Buffer | undefined,
  timeoutMs: number,
): Promise<void> {
  const request = { key, ...(rangeEnd ? { range_end: rangeEnd } : {}), count_only: true, serializable: true, limit: 1 };
  try {
    await connections.withConnection(
      'KV',
      ({ client, metadata }) => unaryCall(client, 'range', request, metadata, { deadline: Date.now() + timeoutMs }),
      only(member),
      true,
    );
    member.heardAt = Date.now();
  } catch (error) {
    const failure = castGrpcError(error as Error);
    if (failure instanceof GRPCDeadlineExceededError || failure.message.includes('no leader'))
      connections.markUnanswered(member);
    else if (!failure.message.includes('UNAVAILABLE')) member.heardAt = Date.now(); // refused: it answered
  }
}

function* only(member: EtcdMember): Generator<EtcdMember> {
  for (;;) yield member;
}
