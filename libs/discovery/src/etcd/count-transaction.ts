import { Range, type KVClient } from 'etcd3';
import { withDeadline } from './deadline.js';
import { isCompacted, isFutureRevision } from './etcd-errors.js';
import type { PrefixCount } from './etcd-gateway.js';

/** A prefix to count, at the revision asked. */
interface AskedCount {
  prefix: string;
  revision: number;
}

/**
 * Counts prefixes in one transaction of count-only ranges, each at the revision asked, serializable:
 * one batch of `BatchedCounts`, for `Etcd3Gateway.count`. When one of those revisions is compacted
 * away, all are counted now (the answers say so); when the member is behind one of them, the leader
 * counts: still one more request, never one per prefix. Each request has a deadline of `timeoutMs`.
 */
export async function countInOneTransaction(
  kv: KVClient,
  asked: readonly AskedCount[],
  timeoutMs: number,
): Promise<PrefixCount[]> {
  try {
    return await countRanges(kv, asked, timeoutMs, true, true);
  } catch (error) {
    if (isCompacted(error)) return countRanges(kv, asked, timeoutMs, false, true);
    if (isFutureRevision(error)) return countRanges(kv, asked, timeoutMs, true, false);
    throw error;
  }
}

async function countRanges(
  kv: KVClient,
  asked: readonly AskedCount[],
  timeoutMs: number,
  atRevision: boolean,
  serializable: boolean,
): Promise<PrefixCount[]> {
  const ranges = asked.map(({ prefix, revision }) => {
    const { start: key, end } = Range.prefix(prefix);
    return {
      request_range: { key, range_end: end, count_only: true, revision: atRevision ? revision : 0, serializable },
    };
  });
  const response = await kv.txn({ success: ranges }, withDeadline(timeoutMs));
  const now = Number(response.header.revision);
  return response.responses.map(({ response_range: range }, index) => ({
    count: Number(range.count),
    revision: (atRevision && asked[index].revision) || now,
  }));
}
