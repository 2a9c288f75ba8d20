import type { EtcdServer } from '@repo/testing';
import type { Etcd3 } from 'etcd3';
import { quick, seed, startProcess } from './harness.js';
import { format, record } from './report.js';

const MB = 2 ** 20;

/**
 * No leak: many subscribe/unsubscribe cycles on endpoints$, and many watch start/stop cycles,
 * leave the consumer's heap (after a GC) and etcd's watcher count where they started.
 */
export async function benchLeaks(etcd: EtcdServer, client: Etcd3): Promise<void> {
  const subscriptions = quick ? 10_000 : 100_000;
  const watches = quick ? 1_000 : 10_000;
  console.log(
    `\nLeaks: ${format(subscriptions)} subscribe/unsubscribe cycles, then ${format(watches)} watch start/stop cycles, in one consumer`,
  );
  await seed(client, ['pinned', 'transient'], 10);
  const consumer = startProcess(
    'leak-consumer.js',
    { ETCD_HOSTS: etcd.host, APP_CONFIG: JSON.stringify({ subscriptions, watches }) },
    ['--expose-gc'],
  );
  const watchers = () => etcd.metric('etcd_debugging_mvcc_watcher_total');
  const phase = async (name: string) => {
    const line = await consumer.waitForLine(`phase ${name}`, (message) => message.phase === name, 600_000);
    const count = await watchers();
    consumer.kill('SIGUSR2');
    return { rss: (line.rss as number) / MB, heap: (line.heapUsed as number) / MB, watchers: count };
  };
  const start = await phase('start');
  const afterSubscriptions = await phase('after-subscriptions');
  const afterWatches = await phase('after-watches');
  await consumer.terminate();
  for (const [label, end] of [
    [`${format(subscriptions)} subscribe/unsubscribe cycles`, afterSubscriptions],
    [`${format(watches)} watch start/stop cycles`, afterWatches],
  ] as const) {
    const from = label.includes('watch') ? afterSubscriptions : start;
    record({
      section: 'leaks',
      name: `${label}: heap growth (after a GC)`,
      value: end.heap - from.heap,
      unit: 'MB',
      baseline: { name: 'heap before', value: from.heap },
      target: '≤ 1 MB',
      met: end.heap - from.heap <= 1,
    });
    // RSS is reported, not judged: with the heap flat it moves ±10 MB between identical rounds here
    // (V8 keeps the pages it grew into); the heap after a GC is what a leak would show in.
    record({
      section: 'leaks',
      name: `${label}: RSS change`,
      value: end.rss - from.rss,
      unit: 'MB',
      baseline: { name: 'RSS before', value: from.rss },
    });
    record({
      section: 'leaks',
      name: `${label}: etcd watchers after`,
      value: end.watchers,
      unit: '',
      baseline: { name: 'before', value: from.watchers },
      target: 'as many as before',
      met: end.watchers === from.watchers,
    });
  }
}
