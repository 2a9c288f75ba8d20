import { BatchedCounts } from './batched-counts.js';

describe('BatchedCounts (an app\'s periodic counts, one request)', () => {
  it('sends the counts asked in the same tick together, 128 per transaction, and answers each its own', async () => {
    const transactions: number[] = [];
    const counts = new BatchedCounts(
      async (asked) => (transactions.push(asked.length), asked.map(({ prefix, revision }) => ({ count: prefix.length, revision }))),
      async () => Promise.reject(new Error('not alone')),
      () => false,
    );
    const answers = await Promise.all(Array.from({ length: 130 }, (_, index) => counts.count('/s/'.padEnd(4 + index, 'x'), 7)));
    expect(transactions).toEqual([128, 2]);
    expect(answers[0]).toEqual({ count: 4, revision: 7 });
    expect(answers[129]).toEqual({ count: 133, revision: 7 });
    await counts.count('/later/', 9);
    expect(transactions).toEqual([128, 2, 1]);
  });

  it('asks each on its own when the transaction fails for a reason one alone may not have; passes other failures on', async () => {
    const alone: string[] = [];
    const compacted = new Error('etcdserver: mvcc: required revision has been compacted');
    let failWith: Error = compacted;
    const counts = new BatchedCounts(
      async () => Promise.reject(failWith),
      async (prefix, revision) => (alone.push(prefix), { count: 1, revision: revision + 1 }),
      (error) => error === compacted,
    );
    expect(await Promise.all([counts.count('/a/', 3), counts.count('/b/', 3)])).toEqual([{ count: 1, revision: 4 }, { count: 1, revision: 4 }]);
    expect(alone).toEqual(['/a/', '/b/']);
    failWith = new Error('unavailable');
    await expect(counts.count('/c/', 3)).rejects.toThrow('unavailable');
    expect(alone).toEqual(['/a/', '/b/']);
  });
});
