import { BatchedCounts } from './batched-counts.js';

describe("BatchedCounts (an app's periodic counts, one request)", () => {
  it('sends the counts asked in the same tick together, 128 per transaction, and answers each its own', async () => {
    const transactions: number[] = [];
    const counts = new BatchedCounts(
      async (asked) => (
        transactions.push(asked.length),
        asked.map(({ prefix, revision }) => ({ count: prefix.length, revision }))
      ),
    );
    const answers = await Promise.all(
      Array.from({ length: 130 }, (_, index) => counts.count('/s/'.padEnd(4 + index, 'x'), 7)),
    );
    expect(transactions).toEqual([128, 2]);
    expect(answers[0]).toEqual({ count: 4, revision: 7 });
    expect(answers[129]).toEqual({ count: 133, revision: 7 });
    await counts.count('/later/', 9);
    expect(transactions).toEqual([128, 2, 1]);
  });

  it('passes a failed transaction on to every count it carried', async () => {
    const counts = new BatchedCounts(async () => Promise.reject(new Error('unavailable')));
    const answers = await Promise.allSettled([counts.count('/a/', 3), counts.count('/b/', 3)]);
    expect(answers.map((answer) => answer.status === 'rejected' && (answer.reason as Error).message)).toEqual([
      'unavailable',
      'unavailable',
    ]);
  });
});
