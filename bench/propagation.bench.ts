import type { AppMessage, EtcdServer } from '@repo/testing';
import type { Etcd3 } from 'etcd3';
import { encodeEndpoint, endpointKey } from 'nestjs-etcd-discovery/codec';
import { numberedEndpoint, putOperation, waitFor } from '@repo/testing';
import { quick, seed, startProcess } from './harness.js';
import { format, percentile, record } from './report.js';

/** When each watcher of the consumer saw `change`, once both have. */
function both(messages: AppMessage[], change: string): { library: AppMessage; bare: AppMessage } | undefined {
  const library = messages.find((message) => message.via === 'library' && message.change === change);
  const bare = messages.find((message) => message.via === 'bare' && message.change === change);
  return library && bare ? { library, bare } : undefined;
}

/**
 * Propagation paired per change: one consumer process holds the library's watch and a bare etcd3
 * watcher on its own client; for every change, the library's delay is its time minus the bare
 * watcher's (negative when its stream happened to deliver first).
 */
export async function benchPropagation(etcd: EtcdServer, client: Etcd3): Promise<void> {
  const sizes = quick ? [100, 1_000] : [100, 10_000, 100_000];
  const changes = quick ? 60 : 300;
  console.log(
    `\nPropagation: ${changes} single changes at ${sizes.map(format).join(' / ')} endpoints, seen by endpoints$ and by a bare etcd3 watcher in the same process`,
  );
  for (const size of sizes) {
    const service = `prop-${size}`;
    await seed(client, [service], size);
    const consumer = startProcess('subscriber.js', { ETCD_HOSTS: etcd.host, APP_CONFIG: JSON.stringify({ service }) });
    await consumer.waitForLine(`the consumer of ${format(size)} endpoints`, (line) => line.ready === true, 120_000);
    const overhead: number[] = [];
    const library: number[] = [];
    const bare: number[] = [];
    for (let index = 0; index < changes; index += 1) {
      // Alternately a new endpoint, and its removal: the size stays put.
      const endpoint = numberedEndpoint(service, size + index - (index % 2));
      const key = endpointKey('/services', service, endpoint.id);
      const write = index % 2 === 0 ? client.put(key).value(encodeEndpoint(endpoint)) : client.delete().key(key);
      const change = `${index % 2 === 0 ? '+' : '-'}${endpoint.id}`;
      const startedAt = performance.timeOrigin + performance.now();
      await write;
      const seen = await waitFor(`${change} in both watchers`, () => both(consumer.messages, change), {
        timeoutMs: 10_000,
        intervalMs: 1,
      });
      overhead.push((seen.library.at as number) - (seen.bare.at as number));
      library.push((seen.library.at as number) - startedAt);
      bare.push((seen.bare.at as number) - startedAt);
    }
    const label = `${format(size)} endpoints`;
    record({
      section: 'propagation',
      name: `${label}: endpoints$ p50 after the write`,
      value: percentile(library, 50),
      unit: 'ms',
      baseline: { name: 'bare watcher p50', value: percentile(bare, 50) },
    });
    record({
      section: 'propagation',
      name: `${label}: endpoints$ p99 after the write`,
      value: percentile(library, 99),
      unit: 'ms',
      baseline: { name: 'bare watcher p99', value: percentile(bare, 99) },
    });
    const large = size >= 100_000;
    record({
      section: 'propagation',
      name: `${label}: library overhead p50 (paired per change)`,
      value: percentile(overhead, 50),
      unit: 'ms',
      target: large ? '≤ 1 ms' : '≤ 0.3 ms',
      met: percentile(overhead, 50) <= (large ? 1 : 0.3),
    });
    record({
      section: 'propagation',
      name: `${label}: library overhead p99`,
      value: percentile(overhead, 99),
      unit: 'ms',
      ...(large ? {} : { target: '≤ 1 ms', met: percentile(overhead, 99) <= 1 }),
    });
    if (size === (quick ? 1_000 : 10_000)) await transaction(client, service, size, consumer.messages);
    await consumer.terminate();
  }
}

/**
 * 100-change transactions, alternately adding 100 endpoints and removing them (the size stays put):
 * how many emissions each causes, and how long after the bare watcher's event the new list comes.
 * Ten of them, since one sample is mostly noise (the first meets cold code).
 */
async function transaction(client: Etcd3, service: string, size: number, messages: AppMessage[]): Promise<void> {
  const added = Array.from({ length: 100 }, (_, index) => numberedEndpoint(service, size + 50_000 + index));
  const emissions: number[] = [];
  const delays: number[] = [];
  for (let round = 0; round < 10; round += 1) {
    const adding = round % 2 === 0;
    const operations = adding
      ? added.map((endpoint) => putOperation(endpoint))
      : added.map((endpoint) => ({
          request_delete_range: { key: Buffer.from(endpointKey('/services', service, endpoint.id)) },
        }));
    await client.kv.txn({ success: operations });
    const sign = adding ? '+' : '-';
    const seen = await waitFor('the transaction in both watchers', () => both(messages, `${sign}${added.at(-1)!.id}`), {
      timeoutMs: 10_000,
      intervalMs: 1,
    });
    const changes = new Set(added.map((endpoint) => `${sign}${endpoint.id}`));
    const batches = new Set(
      messages
        .filter((message) => message.via === 'library' && changes.has(message.change as string))
        .map((message) => message.batch),
    );
    emissions.push(batches.size);
    delays.push((seen.library.at as number) - (seen.bare.at as number));
    // The next round looks for the same changes again: forget this round's.
    messages.splice(0);
  }
  const label = `a 100-change transaction at ${format(size)} endpoints (10 of them)`;
  const most = Math.max(...emissions);
  record({
    section: 'propagation',
    name: `${label}: emissions per transaction, most`,
    value: most,
    unit: '',
    target: 'one',
    met: most === 1,
  });
  const median = percentile(delays, 50);
  record({
    section: 'propagation',
    name: `${label}: new list after the bare watcher's event, median`,
    value: median,
    unit: 'ms',
    target: '≤ 5 ms',
    met: median <= 5,
  });
  record({
    section: 'propagation',
    name: `${label}: new list after the bare watcher's event, slowest`,
    value: Math.max(...delays),
    unit: 'ms',
  });
}
