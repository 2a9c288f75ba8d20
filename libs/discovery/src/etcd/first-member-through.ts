import { castGrpcError, GRPCDeadlineExceededError } from 'etcd3';
import type { EtcdMember } from './etcd-member.js';

/** A call that failed its deadline sooner than this did not give the member a fair chance to answer. */
const MIN_FAIR_WAIT_MS = 100;

/**
 * The loop behind `EtcdConnections.withConnection`, apart so that the rule of who is skipped and who
 * is blamed reads alone. Runs `call` on the first member taken from `order` (at most `tries` of them)
 * whose policy lets the call through: one whose circuit is open is skipped (if none lets it through,
 * the last refusal is thrown). What `call` throws is thrown as etcd3's error, without trying another
 * member; a deadline it missed after a fair wait is the member's (`unanswered`).
 */
export async function callFirstMemberThrough<R>(
  order: Iterator<EtcdMember>,
  tries: number,
  call: (member: EtcdMember) => Promise<R> | R,
  unanswered: (member: EtcdMember) => void,
): Promise<R> {
  let lastError: unknown;
  for (let tried = 0; tried < tries; tried += 1) {
    const member = order.next().value as EtcdMember;
    let calledThrough = false;
    const startedAt = Date.now();
    try {
      return await member.policy.execute(() => {
        calledThrough = true;
        return call(member);
      });
    } catch (error) {
      if (!calledThrough) {
        lastError = error;
        continue;
      }
      const failure = castGrpcError(error as Error);
      // Only if it had time to answer: a retry of a call whose deadline has passed fails at once, anywhere.
      if (failure instanceof GRPCDeadlineExceededError && Date.now() - startedAt >= MIN_FAIR_WAIT_MS)
        unanswered(member);
      throw failure;
    }
  }
  throw castGrpcError(lastError as Error);
}
