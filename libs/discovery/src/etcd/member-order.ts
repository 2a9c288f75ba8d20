import type { EtcdMember } from './etcd-member.js';

/**
 * The members, endlessly, each round in a new random order (a Fisher-Yates shuffle per round): first
 * those that answer; then those that lately left a call unanswered (`EtcdMember.unanswered`), the one
 * found so longest ago first; last those that are down (their connection refused). Picked at random, a
 * frozen member took 3 keepalive attempts in a row (1 round in 27), and with the round after it
 * skipped, a lease of 5 s expired. A member that is down fails a call at once, and a stream opened
 * there right after it was opened: one that merely answered late (`etcd grpc-proxy`) is worth a try first.
 */
export function* membersInTryOrder(all: readonly EtcdMember[]): Generator<EtcdMember, never> {
  const members = [...all];
  for (;;) {
    for (let index = members.length - 1; index > 0; index -= 1) {
      const other = Math.floor((index + 1) * Math.random());
      [members[other], members[index]] = [members[index], members[other]];
    }
    for (const member of members) if (!member.unanswered && !member.down) yield member;
    const unanswered = members.filter((member) => member.unanswered && !member.down);
    unanswered.sort((one, other) => one.unansweredUntil - other.unansweredUntil);
    yield* unanswered;
    for (const member of members) if (member.down) yield member;
  }
}
