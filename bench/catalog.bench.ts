import type { EtcdServer } from '@repo/testing';
import { numberedEndpoint, waitFor } from '@repo/testing';
import type { Etcd3 } from 'etcd3';
import { Controller, Get, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { DiscoveryClient, DiscoveryModule, type ServiceEndpoint } from 'nestjs-etcd-discovery';
import { DiscoveryDashboardModule } from 'nestjs-etcd-discovery/dashboard';
import { decodeEndpoint, encodeEndpoint, endpointKey } from 'nestjs-etcd-discovery/codec';
import type { AddressInfo } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { firstValueFrom } from 'rxjs';
import { context, now, quick } from './harness.js';
import { format, median, percentile, record } from './report.js';

/** A full garbage collection, for heap figures (the bench runs without --expose-gc). */
function collectGarbage(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

/** `count` message patterns such as a large service has, about 38 characters each. */
function patternNames(service: string, count: number): string[] {
  return Array.from({ length: count }, (_, index) => `${service}.resource-${Math.floor(index / 10)}.action-${index}`);
}

/** Microseconds per call of `fn`, median of 5 runs of `count` calls. */
function microsPerCall(fn: () => unknown, count: number): number {
  const runs: number[] = [];
  for (let run = 0; run < 5; run += 1) {
    const start = performance.now();
    for (let index = 0; index < count; index += 1) fn();
    runs.push(((performance.now() - start) * 1000) / count);
  }
  return median(runs);
}

/**
 * The catalog: the size of a stored value with hundreds of patterns, the cost of decoding it, and
 * the catalog of a whole namespace (services of 100 endpoints, 20 patterns each) — its first list,
 * each change (paired with the service's own watch in the same process), its memory, whoHandles(),
 * and the dashboard's JSON.
 */
export async function benchCatalog(etcd: EtcdServer, client: Etcd3): Promise<void> {
  console.log(
    '\nCatalog: values with patterns, and the catalog of a namespace of services of 100 endpoints with 20 patterns each',
  );
  const plain = numberedEndpoint('wide', 1);
  const plainValue = encodeEndpoint(plain);
  for (const count of [10, 100, 1000]) {
    const value = encodeEndpoint({
      ...plain,
      patterns: patternNames('wide', count),
      events: patternNames('wide-events', count / 10),
    });
    const bytes = Buffer.byteLength(value);
    record({
      section: 'catalog',
      name: `a value with ${format(count)} patterns and ${format(count / 10)} events: size`,
      value: bytes,
      unit: 'bytes',
      baseline: { name: 'without patterns', value: Buffer.byteLength(plainValue) },
      target: '≤ 1 MiB (etcd takes 1.5 MiB)',
      met: bytes <= 1024 * 1024,
    });
    const key = endpointKey('/services', 'wide', plain.id);
    record({
      section: 'catalog',
      name: `a value with ${format(count)} patterns: decode`,
      value: microsPerCall(() => decodeEndpoint('/services', key, value), quick ? 2_000 : 10_000),
      unit: 'µs',
      baseline: {
        name: 'without patterns',
        value: microsPerCall(() => decodeEndpoint('/services', key, plainValue), 10_000),
      },
    });
  }

  for (const size of quick ? [10_000] : [10_000, 100_000]) {
    const namespace = `/catalog-${size}`;
    const services = Array.from({ length: size / 100 }, (_, index) => `svc-${index}`);
    const patternsOf = new Map(services.map((service) => [service, patternNames(service, 20)]));
    for (const service of services) await seedPatterns(client, namespace, service, 100, patternsOf.get(service)!);
    const label = `${format(size)} endpoints in ${format(services.length)} services`;

    collectGarbage();
    const heapBefore = process.memoryUsage().heapUsed;
    const app = await context({ etcd: { hosts: [etcd.host] }, namespace, selfPreservation: false });
    const discovery = app.get(DiscoveryClient);
    let startedAt = now();
    const catalogTimes: number[] = [];
    const subscription = discovery.catalog$().subscribe(() => catalogTimes.push(now()));
    await waitFor('the first catalog', () => catalogTimes.length > 0, { timeoutMs: 120_000, intervalMs: 1 });
    const firstCatalog = catalogTimes[0] - startedAt;
    collectGarbage();
    const heapMb = (process.memoryUsage().heapUsed - heapBefore) / 2 ** 20;
    startedAt = now();
    await firstValueFrom(discovery.services$());
    const firstNames = now() - startedAt;
    record({
      section: 'catalog',
      name: `${label}: first catalog`,
      value: firstCatalog,
      unit: 'ms',
      baseline: { name: 'services$() (names only, same namespace)', value: firstNames },
    });
    record({ section: 'catalog', name: `${label}: heap held by the catalog`, value: heapMb, unit: 'MB' });

    // Single changes to one service: the catalog's emission, paired with that service's own endpoints$ in the same process.
    const service = services[0];
    const listTimes: number[] = [];
    const watched = discovery.endpoints$(service).subscribe(() => listTimes.push(now()));
    await waitFor('the service watch', () => listTimes.length > 0, { timeoutMs: 30_000, intervalMs: 1 });
    const overhead: number[] = [];
    const changes = quick ? 40 : 200;
    for (let index = 0; index < changes; index += 1) {
      // Alternately a new endpoint and its removal: the size stays put.
      const endpoint = { ...numberedEndpoint(service, 100 + index - (index % 2)), patterns: patternsOf.get(service)! };
      const key = endpointKey(namespace, service, endpoint.id);
      const [catalogs, lists] = [catalogTimes.length, listTimes.length];
      if (index % 2 === 0) await client.put(key).value(encodeEndpoint(endpoint));
      else await client.delete().key(key);
      await waitFor('the change in both', () => catalogTimes.length > catalogs && listTimes.length > lists, {
        timeoutMs: 10_000,
        intervalMs: 1,
      });
      overhead.push(catalogTimes.at(-1)! - listTimes.at(-1)!);
    }
    const large = size >= 100_000;
    record({
      section: 'catalog',
      name: `${label}: a change, catalog after the service's own endpoints$ (paired), p50`,
      value: percentile(overhead, 50),
      unit: 'ms',
      target: large ? '≤ 1 ms' : '≤ 0.3 ms',
      met: percentile(overhead, 50) <= (large ? 1 : 0.3),
    });
    record({ section: 'catalog', name: `${label}: the same, p99`, value: percentile(overhead, 99), unit: 'ms' });

    const pattern = patternsOf.get(services.at(-1)!)![19];
    let found = 0;
    const whoHandles = microsPerCall(() => (found += discovery.whoHandles(pattern).length), 1_000_000);
    if (found === 0) throw new Error(`whoHandles("${pattern}") found no service`);
    record({
      section: 'catalog',
      name: `${label}: whoHandles()`,
      value: 1 / whoHandles,
      unit: 'M/s',
      baseline: { name: 'pick() of a service', value: 1 / microsPerCall(() => discovery.pick(service), 1_000_000) },
    });
    watched.unsubscribe();
    subscription.unsubscribe();
    await app.close();
    await dashboardAt(etcd, namespace, label);
  }
}

/**
 * What the dashboard costs at this size: an HTTP app that mounts it, `GET /discovery/api` timed
 * (the snapshot, its JSON and the transfer, what a page load or a tool pays), next to `GET` of a tiny route.
 */
async function dashboardAt(etcd: EtcdServer, namespace: string, label: string): Promise<void> {
  @Controller()
  class PingController {
    @Get('ping')
    ping(): string {
      return 'pong';
    }
  }
  @Module({
    imports: [
      DiscoveryModule.forRoot({ etcd: { hosts: [etcd.host] }, namespace, selfPreservation: false }),
      DiscoveryDashboardModule.forRoot(),
    ],
    controllers: [PingController],
  })
  class DashboardBenchModule {}
  const app = await NestFactory.create(DashboardBenchModule, { logger: ['error'] });
  await app.listen(0, '127.0.0.1');
  const url = `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}`;
  const discovery = app.get(DiscoveryClient);
  await discovery.watchCatalog();
  const timed = async (path: string) => {
    const times: number[] = [];
    let bytes = 0;
    for (let run = 0; run < 5; run += 1) {
      const startedAt = now();
      bytes = (await (await fetch(`${url}${path}`)).arrayBuffer()).byteLength;
      times.push(now() - startedAt);
    }
    return { ms: median(times), bytes };
  };
  const api = await timed('/discovery/api');
  const ping = await timed('/ping');
  record({
    section: 'catalog',
    name: `${label}: the dashboard's GET /discovery/api (${format(api.bytes / 2 ** 20)} MB of JSON)`,
    value: api.ms,
    unit: 'ms',
    baseline: { name: 'GET of a one-word route, same app', value: ping.ms },
  });
  await app.close();
}

/** Writes `count` endpoints of `service` under `namespace`, each publishing `patterns`. */
async function seedPatterns(
  client: Etcd3,
  namespace: string,
  service: string,
  count: number,
  patterns: string[],
): Promise<void> {
  const puts = Array.from({ length: count }, (_, index) => {
    const endpoint: ServiceEndpoint = { ...numberedEndpoint(service, index), patterns };
    return {
      request_put: {
        key: Buffer.from(endpointKey(namespace, service, endpoint.id)),
        value: Buffer.from(encodeEndpoint(endpoint)),
      },
    };
  });
  await client.kv.txn({ success: puts });
}
