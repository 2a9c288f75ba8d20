import type { EtcdServer } from '@repo/testing';
import { Range, type Etcd3 } from 'etcd3';
import { servicePrefix } from 'nestjs-etcd-discovery/codec';
import { cpuTimeMs, quick, seed } from './harness.js';
import { format, record } from './report.js';

/** Keys per page of a list, as the library reads them. */
const LIST_PAGE = 2000;
/** The fleet the capacity figure is for: apps, services each watches, the check interval. */
const FLEET = { apps: 1_000, services: 20, intervalS: 300 };

/**
 * The periodic safety net as etcd pays for it: one app's round — its watches' counts (of 20 services)
 * in one transaction of serializable count-only ranges at the revisions applied, as the gateway
 * batches them — next to what the round replaced, a full re-list of each service (every value, in
 * pages of 2,000); at 100 and 10,000 endpoints per service. etcd's CPU time from /proc, over many rounds.
 */
export async function benchSafetyNet(etcd: EtcdServer, client: Etcd3): Promise<void> {
  console.log(
    `\nThe periodic safety net: what one app's round costs etcd (${FLEET.services} services: one transaction of counts) next to full re-lists`,
  );
  for (const size of quick ? [100] : [100, 10_000]) {
    const services = Array.from({ length: FLEET.services }, (_, index) => `net-${size}-${index}`);
    await seed(client, services, size);
    const prefixes = services.map((service) => Range.prefix(servicePrefix('/services', service)));
    const revision = Number(
      (await client.kv.range({ key: prefixes[0].start, range_end: prefixes[0].end, count_only: true })).header.revision,
    );
    const countRound = () =>
      client.kv.txn({
        success: prefixes.map(({ start: key, end }) => ({
          request_range: { key, range_end: end, count_only: true, serializable: true, revision },
        })),
      });
    const listRound = async () => {
      for (const { start: key, end } of prefixes) {
        let from = key;
        let at = 0;
        for (;;) {
          const page = await client.kv.range({
            key: from,
            range_end: end,
            limit: LIST_PAGE,
            revision: at,
            serializable: at === 0,
          });
          at = Number(page.header.revision);
          if (!page.more || page.kvs.length === 0) break;
          from = Buffer.concat([page.kvs[page.kvs.length - 1].key, Buffer.from([0])]);
        }
      }
    };
    const rounds = size >= 10_000 ? (quick ? 20 : 100) : quick ? 300 : 1_000;
    const countUs = await etcdCpuPerRequestUs(etcd, countRound, rounds);
    const listUs = await etcdCpuPerRequestUs(
      etcd,
      listRound,
      Math.max(5, Math.round(rounds / (size >= 10_000 ? 20 : 5))),
    );
    record({
      section: 'safetynet',
      name: `one app's round, ${FLEET.services} services of ${format(size)} endpoints: etcd CPU`,
      value: countUs,
      unit: 'µs',
      baseline: { name: 'full re-lists of the 20 services (what the round replaced)', value: listUs },
      ratio: listUs / countUs,
    });
    const roundsPerSecond = FLEET.apps / FLEET.intervalS;
    const share = (roundsPerSecond * countUs) / 1e6;
    record({
      section: 'safetynet',
      name: `${format(FLEET.apps)} apps, each ${FLEET.services} services of ${format(size)} endpoints, a round every ${FLEET.intervalS / 60} min: etcd CPU`,
      value: share * 100,
      unit: '% of a core',
      baseline: { name: 'full re-lists at that rate', value: ((roundsPerSecond * listUs) / 1e6) * 100 },
      ...(size === 100 ? { target: '< 1 % of a core', met: share < 0.01 } : {}),
    });
  }
}

/** etcd's CPU time per `request()`, in µs, over `count` requests made one after another (after a warm-up). */
async function etcdCpuPerRequestUs(etcd: EtcdServer, request: () => Promise<unknown>, count: number): Promise<number> {
  for (let warm = 0; warm < 10; warm += 1) await request();
  const before = cpuTimeMs(etcd.pid!);
  for (let made = 0; made < count; made += 1) await request();
  return ((cpuTimeMs(etcd.pid!) - before) * 1000) / count;
}
