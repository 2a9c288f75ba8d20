/**
 * The fleet bench's baseline worker: `apps` simulated apps written on etcd3 alone, no library —
 * what a user would write by hand. Each has its own etcd3 client (its own connection: a local
 * gRPC subchannel pool), a lease kept alive by etcd3, one key put under it, and a watch of each of
 * the same 3 services as the library's apps (`fleetServices`), without first lists. Reports `ready`
 * and `seen` like fleet-apps.ts. An app whose start fails (etcd busy: "request timed out") starts
 * again a second later, with a new client, as an orchestrator would restart it. SIGTERM revokes
 * every lease and closes every client.
 */
import { reportEvent } from '@repo/testing/json-lines';
import { Etcd3, type Lease } from 'etcd3';
import { fleetHost, fleetServices } from './fleet-shape.js';
import { reportSeen } from './fleet-sightings.js';

const { hosts, apps, firstIndex, services, ttl } = JSON.parse(process.env.APP_CONFIG!) as {
  hosts: string[];
  apps: number;
  firstIndex: number;
  services: number;
  ttl: number;
};

async function startBareApp(index: number): Promise<{ client: Etcd3; lease: Lease }> {
  const { own, requires } = fleetServices(index, services);
  const client = new Etcd3({ hosts, grpcOptions: { 'grpc.use_local_subchannel_pool': 1 } });
  const lease = client.lease(ttl);
  const id = `app-${index}`;
  try {
    await lease
      .put(`/services/${own}/${id}`)
      .value(JSON.stringify({ id, service: own, address: `${fleetHost(index)}:8000` }));
    for (const service of requires) {
      const watcher = await client.watch().prefix(`/services/${service}/`).create();
      if (service === 'fleet-common')
        watcher.on('put', (kv) => reportSeen(kv.key.toString().slice('/services/fleet-common/'.length)));
    }
    return { client, lease };
  } catch (error) {
    await lease.revoke().catch(() => undefined);
    client.close();
    throw error;
  }
}

async function startUntilUp(index: number): Promise<{ client: Etcd3; lease: Lease }> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await startBareApp(index);
    } catch (error) {
      if (attempt === 10) throw error;
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  }
}

const running: { client: Etcd3; lease: Lease }[] = [];
for (let start = 0; start < apps; start += 10) {
  const batch = Array.from({ length: Math.min(10, apps - start) }, (_, offset) =>
    startUntilUp(firstIndex + start + offset),
  );
  running.push(...(await Promise.all(batch)));
}
reportEvent('ready', { apps: running.length });

process.on('SIGTERM', () => {
  void Promise.all(
    running.map(async ({ client, lease }) => {
      await lease.revoke().catch(() => undefined);
      client.close();
    }),
  ).then(() => process.exit(0));
});
