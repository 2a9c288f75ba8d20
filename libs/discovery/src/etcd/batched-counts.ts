import type { PrefixCount } from './etcd-gateway.js';

/** Ranges per transaction: etcd's default `--max-txn-ops` is 128. */
const PER_TRANSACTION = 128;

interface Asked {
  prefix: string;
  revision: number;
  resolve(count: PrefixCount): void;
  reject(error: unknown): void;
}

/**
 * Counts asked for in the same tick (an app's periodic round: one per watch) go to etcd together,
 * one request per 128 (`together`, which answers each in order), so that a round costs etcd one
 * request per app, whatever it watches.
 */
export class BatchedCounts {
  private pending: Asked[] = [];

  constructor(
    private readonly together: (asked: readonly { prefix: string; revision: number }[]) => Promise<PrefixCount[]>,
  ) {}

  count(prefix: string, revision: number): Promise<PrefixCount> {
    return new Promise((resolve, reject) => {
      if (this.pending.push({ prefix, revision, resolve, reject }) === 1) queueMicrotask(() => this.flush());
    });
  }

  private flush(): void {
    const asked = this.pending;
    this.pending = [];
    for (let start = 0; start < asked.length; start += PER_TRANSACTION)
      void this.send(asked.slice(start, start + PER_TRANSACTION));
  }

  private async send(batch: Asked[]): Promise<void> {
    try {
      const counts = await this.together(batch);
      batch.forEach((asked, index) => asked.resolve(counts[index]));
    } catch (error) {
      for (const asked of batch) asked.reject(error);
    }
  }
}
