import type { EtcdMember } from './etcd-member.js';

/**
 * The members, endlessly, each round in a new random order (a Fisher-Yates shuffle per round), the
 * ones that lately left a call unanswered (`EtcdMember.unanswered`) last, the one found so longest
 * ago first among them: picked at random, a frozen member took 3 keepalive attempts in a row (1 round
 * in 27), and with the round after it skipped, a lease of 5 s expired.
 */
export function* membersInTryOrder(all: readonly EtcdMember[]): Generator<EtcdMember, never> {
  const members = [...all];
  for (;;) {
    for (let index = members.length - 1; index > 0; index -= 1) {
      const other = Math.floor((index + 1) * Math.random());
      [members[other], members[index]] = [members[index]!, members[other]!];
    }
    for (const member of members) if (!member.unanswered) yield member;
    const unanswered = members.filter((member) => member.unanswered);
    unanswered.sort((one, other) => one.unansweredUntil - other.unansweredUntil);
    yield* unanswered;
  }
}
