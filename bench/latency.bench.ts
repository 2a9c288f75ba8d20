import { putEndpoint, testEndpoint } from '@repo/testing';
import type { EtcdServer } from '@repo/testing';
import type { Etcd3 } from 'etcd3';
import {
  DiscoveryClient,
  LatencyAwareStrategy,
  RoundRobinStrategy,
  type LoadBalancingStrategy,
} from 'nestjs-etcd-discovery';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { context, quick, sleep } from './harness.js';
import { format, record } from './report.js';

const SLOWER_BY_MS = 20;
const CALLERS = 8;

/**
 * Load-aware balancing where it matters: three HTTP instances on loopback, one answering 20 ms
 * slower, called through `DiscoveryClient.call()` + fetch by 8 concurrent callers (each calls again
 * as soon as it has its answer) — round robin, then LatencyAwareStrategy, in the same run. Reported:
 * the share of calls the slow instance got, and the mean latency of a call.
 */
export async function benchLatency(etcd: EtcdServer, client: Etcd3): Promise<void> {
  const windowMs = quick ? 3_000 : 10_000;
  console.log(
    `\nLoad-aware balancing: 3 HTTP instances, one ${SLOWER_BY_MS} ms slower; ${CALLERS} callers through call() for ${windowMs / 1000} s each`,
  );
  const servers = await Promise.all([0, SLOWER_BY_MS, 0].map((delayMs) => listen(delayMs)));
  const service = 'latency-bench';
  const ids = ['fast-1', 'slow', 'fast-2'];
  for (const [index, server] of servers.entries()) {
    await putEndpoint(
      client,
      testEndpoint(service, ids[index], (server.address() as AddressInfo).port, { host: '127.0.0.1' }),
    );
  }
  try {
    const roundRobin = await callFor(etcd, service, new RoundRobinStrategy(), windowMs);
    const latencyAware = await callFor(etcd, service, new LatencyAwareStrategy(), windowMs);
    record({
      section: 'latency',
      name: `RoundRobin: share of calls to the slow instance (${format(roundRobin.calls)} calls, ${roundRobin.failed} failed)`,
      value: roundRobin.slowShare * 100,
      unit: '%',
    });
    record({
      section: 'latency',
      name: `LatencyAware: share of calls to the slow instance (${format(latencyAware.calls)} calls, ${latencyAware.failed} failed)`,
      value: latencyAware.slowShare * 100,
      unit: '%',
      baseline: { name: 'round robin', value: roundRobin.slowShare * 100 },
      target: '≤ 10 %',
      met: latencyAware.slowShare <= 0.1 && latencyAware.failed === 0,
    });
    record({ section: 'latency', name: 'RoundRobin: mean latency of a call', value: roundRobin.meanMs, unit: 'ms' });
    record({
      section: 'latency',
      name: 'LatencyAware: mean latency of a call',
      value: latencyAware.meanMs,
      unit: 'ms',
      baseline: { name: 'round robin', value: roundRobin.meanMs },
      ratio: roundRobin.meanMs / latencyAware.meanMs,
      target: "below round robin's",
      met: latencyAware.meanMs < roundRobin.meanMs && latencyAware.failed === 0,
    });
  } finally {
    await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  }
}

/** `CALLERS` closed-loop callers for `windowMs` through call(): calls, failures, the slow one's share, mean latency. */
async function callFor(etcd: EtcdServer, service: string, strategy: LoadBalancingStrategy, windowMs: number) {
  const app = await context({ etcd: { hosts: [etcd.host] }, requires: [service], strategy });
  const discovery = app.get(DiscoveryClient);
  await discovery.waitFor(service, { count: 3 });
  let calls = 0;
  let failed = 0;
  let toSlow = 0;
  let totalMs = 0;
  const deadline = performance.now() + windowMs;
  const caller = async () => {
    while (performance.now() < deadline) {
      const startedAt = performance.now();
      try {
        const id = await discovery.call(service, async (endpoint) => {
          const response = await fetch(`http://${endpoint.address}/`);
          await response.arrayBuffer();
          return endpoint.id;
        });
        if (id === 'slow') toSlow += 1;
      } catch {
        failed += 1;
      }
      totalMs += performance.now() - startedAt;
      calls += 1;
    }
  };
  await Promise.all(Array.from({ length: CALLERS }, caller));
  await app.close();
  await sleep(100);
  return { calls, failed, slowShare: toSlow / calls, meanMs: totalMs / calls };
}

/** An HTTP server on a free loopback port that answers every request after `delayMs`. */
function listen(delayMs: number): Promise<Server> {
  const server = createServer((_request, response) => {
    const answer = () => response.end('ok');
    if (delayMs > 0) setTimeout(answer, delayMs);
    else answer();
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}
