import { putEndpoint, testEndpoint } from '@repo/testing';
import type { EtcdServer } from '@repo/testing';
import type { Etcd3 } from 'etcd3';
import { DiscoveryClient, type DiscoveryModuleOptions } from 'nestjs-etcd-discovery';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { context, sleep } from './harness.js';

/** Closed-loop callers of the overhead figures. */
export const CALLERS = 8;

/** How the first instance of `instances()` stalls: `ms` on every `every`-th request it gets. */
export interface Stall {
  every: number;
  ms: number;
}

/** Three HTTP instances on loopback, registered in etcd: the requests they got and the connections they accepted. */
export interface Instances {
  servers: Server[];
  requests(): number;
  /** Requests the first instance stalled. */
  stalled(): number;
  connections(): number;
}

/** Three HTTP instances on loopback; the first stalls as `stall` says. */
export async function instances(client: Etcd3, service: string, stall?: Stall): Promise<Instances> {
  let requests = 0;
  let stalled = 0;
  let connections = 0;
  const servers = await Promise.all(
    [0, 1, 2].map((index) => {
      let seen = 0;
      const server = createServer((_request, response) => {
        requests += 1;
        seen += 1;
        if (stall !== undefined && index === 0 && seen % stall.every === 0) {
          stalled += 1;
          setTimeout(() => response.end('ok'), stall.ms);
        } else response.end('ok');
      });
      server.on('connection', () => void (connections += 1));
      // Idle connections kept 30 s (Node's default is 5 s): a caller's pool outlives the pause between two segments,
      // so that the connections a segment opens are those its own load asked for.
      server.keepAliveTimeout = 30_000;
      return new Promise<Server>((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
    }),
  );
  for (const [index, server] of servers.entries()) {
    await putEndpoint(
      client,
      testEndpoint(service, `i${index}`, (server.address() as AddressInfo).port, { host: '127.0.0.1' }),
    );
  }
  return { servers, requests: () => requests, stalled: () => stalled, connections: () => connections };
}

export async function closeInstances(instances: Instances): Promise<void> {
  await Promise.all(instances.servers.map((server) => new Promise((resolve) => server.close(resolve))));
}

/** A discovery app in this process that requires `service` and has seen its 3 instances. */
export async function discoveryFor(etcd: EtcdServer, service: string, extra: Partial<DiscoveryModuleOptions> = {}) {
  const app = await context({ etcd: { hosts: [etcd.host] }, requires: [service], ...extra });
  const discovery = app.get(DiscoveryClient);
  await discovery.waitFor(service, { count: 3 });
  return { app, discovery };
}

/** CALLERS closed-loop callers of `call` for `windowMs`: every call's time in ms, the failures, and the process's CPU time per call in µs. */
export async function closedLoop(
  call: () => Promise<unknown>,
  windowMs: number,
): Promise<{ times: number[]; failed: number; cpuPerCallUs: number }> {
  const times: number[] = [];
  let failed = 0;
  const cpuBefore = process.cpuUsage();
  const deadline = performance.now() + windowMs;
  const caller = async () => {
    while (performance.now() < deadline) {
      const startedAt = performance.now();
      try {
        await call();
      } catch {
        failed += 1;
      }
      times.push(performance.now() - startedAt);
    }
  };
  await Promise.all(Array.from({ length: CALLERS }, caller));
  const cpu = process.cpuUsage(cpuBefore);
  return { times, failed, cpuPerCallUs: (cpu.user + cpu.system) / times.length };
}

/** The first second of an open loop: not counted. */
export const WARM_UP_MS = 1000;

/**
 * `rate` calls a second for `windowMs`, each started on time whether the others have ended or not
 * (an open loop: a slow call does not hold back the next, as a closed loop's would, so the
 * latencies of two runs compare at the same load): every call's time in ms, and the failures.
 * The first second warms up (connections opened, code compiled, response times learnt) and is not counted.
 */
export async function openLoop(
  call: () => Promise<unknown>,
  rate: number,
  windowMs: number,
): Promise<{ times: number[]; failed: number; started: number }> {
  const times: number[] = [];
  let failed = 0;
  const calls: Promise<void>[] = [];
  const startedAt = performance.now();
  const total = Math.floor((rate * (WARM_UP_MS + windowMs)) / 1000);
  while (calls.length < total) {
    const due = Math.min(total, Math.floor(((performance.now() - startedAt) * rate) / 1000));
    while (calls.length < due) {
      const callStartedAt = performance.now();
      const counted = callStartedAt - startedAt >= WARM_UP_MS;
      calls.push(
        call().then(
          () => void (counted && times.push(performance.now() - callStartedAt)),
          () => void (counted && (failed += 1)),
        ),
      );
    }
    await sleep(2);
  }
  await Promise.all(calls);
  return { times, failed, started: total };
}
