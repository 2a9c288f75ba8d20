import type { EtcdMember } from './etcd-member.js';
import { membersInTryOrder } from './member-order.js';

/** Stand-ins with the three things the order reads. */
const member = (address: string, { down = false, unansweredUntil = 0 } = {}) =>
  ({
    address,
    down,
    unansweredUntil,
    get unanswered() {
      return Date.now() < unansweredUntil;
    },
  }) as unknown as EtcdMember;

const firstRound = (members: EtcdMember[]) => {
  const order = membersInTryOrder(members);
  return members.map(() => (order.next().value as unknown as { address: string }).address);
};

describe('membersInTryOrder', () => {
  it('tries members that answer first (shuffled), then unanswering ones (oldest mark first), then those down', () => {
    const now = Date.now();
    const members = [
      member('unanswered-late', { unansweredUntil: now + 9000 }),
      member('down', { down: true }),
      member('answers-1'),
      member('unanswered-early', { unansweredUntil: now + 5000 }),
      member('answers-2'),
    ];
    const seenFirst = new Set<string>();
    for (let round = 0; round < 50; round += 1) {
      const order = firstRound(members);
      expect(order.slice(2)).toEqual(['unanswered-early', 'unanswered-late', 'down']);
      seenFirst.add(order[0]);
    }
    expect([...seenFirst].sort()).toEqual(['answers-1', 'answers-2']);
  });
});
