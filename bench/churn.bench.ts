import type { EtcdServer } from '@repo/testing';
import type { Etcd3 } from 'etcd3';
import { encodeEndpoint, endpointKey } from 'nestjs-etcd-discovery/codec';
import { numberedEndpoint } from '@repo/testing';
import { cpuTimeMs, quick, seed, sleep, startProcess } from './harness.js';
import { format, record } from './report.js';

/**
 * What discovery costs a consumer while its service churns: the consumer's CPU time (from /proc)
 * over a window of 100 changes per second, next to the same process over an idle window.
 */
export async function benchChurn(etcd: EtcdServer, client: Etcd3): Promise<void> {
  const size = quick ? 1_000 : 10_000;
  const windowMs = quick ? 5_000 : 30_000;
  const perSecond = 100;
  console.log(
    `\nChurn: a consumer of ${format(size)} endpoints, ${perSecond} changes/s for ${windowMs / 1000} s, next to the same consumer idle`,
  );
  const service = `churn-${size}`;
  await seed(client, [service], size);
  const consumer = startProcess('watch-consumer.js', {
    ETCD_HOSTS: etcd.host,
    APP_CONFIG: JSON.stringify({ service }),
  });
  await consumer.waitForLine('the consumer', (line) => line.ready === true, 60_000);
  await sleep(1000); // past start-up
  const pid = consumer.child.pid!;

  let before = cpuTimeMs(pid);
  await sleep(windowMs);
  const idle = ((cpuTimeMs(pid) - before) / windowMs) * 100;

  before = cpuTimeMs(pid);
  const startedAt = performance.now();
  const writes = (windowMs / 1000) * perSecond;
  for (let index = 0; index < writes; index += 1) {
    // Alternately a new endpoint and its removal, one every 10 ms.
    const endpoint = numberedEndpoint(service, size + index - (index % 2));
    const key = endpointKey('/services', service, endpoint.id);
    await (index % 2 === 0 ? client.put(key).value(encodeEndpoint(endpoint)) : client.delete().key(key));
    const due = startedAt + ((index + 1) * 1000) / perSecond;
    if (due > performance.now()) await sleep(due - performance.now());
  }
  const elapsed = performance.now() - startedAt;
  const churning = ((cpuTimeMs(pid) - before) / elapsed) * 100;
  consumer.messages.length = 0;
  consumer.kill('SIGUSR2');
  const seen = await consumer.waitForLine('the list count', (line) => line.lists !== undefined);
  await consumer.terminate();
  record({
    section: 'churn',
    name: `consumer CPU while ${format(size)} endpoints churn at ${perSecond} changes/s`,
    value: churning,
    unit: '% of a core',
    baseline: { name: 'idle', value: idle },
  });
  record({
    section: 'churn',
    name: `… what discovery adds (${format(seen.lists as number)} lists seen, ${format(writes)} writes)`,
    value: churning - idle,
    unit: '% of a core',
    target: '≤ 5 %',
    met: churning - idle <= 5,
  });
}
