/**
 * The fleet bench's worker: `apps` simulated apps in one process, each a Nest application context of
 * its own with DiscoveryModule — its own etcd connection (a local gRPC subchannel pool), its lease
 * kept alive, one registration, and watches of `watched` services: `fleet-common` (where the bench
 * writes its probes), and two of the `fleet-N` services the apps register under. Reports, as JSON
 * lines: `ready` once every app has registered and read its lists; `seen` when an app sees a probe (an endpoint
 * added to fleet-common, or a traffic policy of fleet-common applied);
 * on SIGUSR2 a deploy wave (every app closed and started again at a random moment within `waveMs`)
 * and `wave-done`. SIGTERM closes every app.
 */
import 'reflect-metadata';
import { Module, type INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { reportEvent } from '@repo/testing/json-lines';
import { repoRoot } from '@repo/testing';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { DiscoveryClient, DiscoveryModule, ServiceRegistry, type EndpointChange } from 'nestjs-etcd-discovery';
import { fleetHost, fleetServices } from './fleet-shape.js';
import { reportSeen } from './fleet-sightings.js';

const { hosts, apps, firstIndex, services, ttl, waveMs } = JSON.parse(process.env.APP_CONFIG!) as {
  hosts: string[];
  apps: number;
  firstIndex: number;
  services: number;
  ttl: number;
  waveMs: number;
};
const now = () => performance.timeOrigin + performance.now();

/** The app's traffic policies, from the library's build (an internal provider): when each app applied a policy probe. */
const { TrafficPolicies } = (await import(
  pathToFileURL(join(repoRoot(), 'libs/discovery/dist/policy/traffic-policies.js')).href
)) as typeof import('../../libs/discovery/dist/policy/traffic-policies.js');

/** Reports each policy probe (a document of fleet-common whose drain's reason names it) once the app has applied it. */
function reportPolicyProbes(app: INestApplicationContext): void {
  const policies = app.get(TrafficPolicies);
  let lastProbe: string | undefined;
  policies.read.add(() => {
    const [override] = Object.values(policies.stateOf('fleet-common').document?.instances ?? {});
    if (override?.reason === undefined || override.reason === lastProbe) return;
    lastProbe = override.reason;
    reportSeen(override.reason);
  });
}

/** App number `index`: registers under fleet-(index % services), watches fleet-common and the next two services (`fleetServices`). */
async function startApp(index: number): Promise<INestApplicationContext> {
  const { own, requires } = fleetServices(index, services);
  @Module({
    imports: [
      DiscoveryModule.forRoot({
        etcd: { hosts, grpcOptions: { 'grpc.use_local_subchannel_pool': 1 } },
        requires,
        ttl,
        // Every app and etcd share this machine's 2 cores: at 1,000 apps a first list can take longer
        // than the default 5 s in a deploy wave, and a fail-fast start would end the app.
        connectTimeoutMs: 30_000,
        logger: false,
      }),
    ],
  })
  class FleetAppModule {}
  const app = await NestFactory.createApplicationContext(FleetAppModule, { logger: false, abortOnError: false });
  await app.init();
  app
    .get(DiscoveryClient)
    .changes$('fleet-common')
    .subscribe((change: EndpointChange) => {
      if (change.type === 'added') reportSeen(change.endpoint.id);
    });
  reportPolicyProbes(app);
  await app.get(ServiceRegistry).register({
    service: own,
    id: `app-${index}`,
    host: fleetHost(index),
    port: 8000,
  });
  return app;
}

const running: INestApplicationContext[] = [];
// A few at a time: a real fleet's apps do not all boot in the same millisecond either.
for (let start = 0; start < apps; start += 10) {
  const batch = Array.from({ length: Math.min(10, apps - start) }, (_, offset) =>
    startApp(firstIndex + start + offset),
  );
  running.push(...(await Promise.all(batch)));
}
reportEvent('ready', { apps: running.length });

/**
 * Starts at once in a deploy wave, per worker: a supervisor that starts every app at the same moment
 * on this machine's 2 cores (250 per worker at 2,000 apps) got none of them through its first list
 * within 30 s, and each failed start was tried again: the wave never ended.
 */
const WAVE_STARTS_AT_ONCE = 10;
let startsRunning = 0;
const waitingStarts: (() => void)[] = [];

/** The app in `slot` started again as a supervisor would: a few at a time, and tried again (counted) until it is up. */
async function restartApp(slot: number, onFailure: () => void): Promise<void> {
  if (startsRunning >= WAVE_STARTS_AT_ONCE) await new Promise<void>((resolve) => waitingStarts.push(resolve));
  startsRunning += 1;
  try {
    for (;;) {
      try {
        running[slot] = await startApp(firstIndex + slot);
        return;
      } catch {
        onFailure();
      }
    }
  } finally {
    startsRunning -= 1;
    waitingStarts.shift()?.();
  }
}

process.on('SIGUSR2', () => {
  const startedAt = now();
  let failed = 0;
  void Promise.all(
    running.map(async (app, slot) => {
      await new Promise((resolve) => setTimeout(resolve, Math.random() * waveMs));
      await app.close();
      await restartApp(slot, () => (failed += 1));
    }),
  ).then(() => reportEvent('wave-done', { ms: now() - startedAt, failed }));
});
process.on('SIGTERM', () => {
  void Promise.all(running.map((app) => app.close())).then(() => process.exit(0));
});
