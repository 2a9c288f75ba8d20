import { Inject, Injectable, Module, type INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ClientTCP, Transport, type ClientProxy } from '@nestjs/microservices';
import {
  ConsistentHashStrategy,
  DiscoveryClient,
  DiscoveryClientsModule,
  DiscoveryModule,
  LeastOutstandingStrategy,
  NoEndpointAvailableError,
  type DiscoveryClientOptions,
  type DiscoveryModuleOptions,
} from 'nestjs-etcd-discovery';
import { readFile, rm } from 'node:fs/promises';
import { firstValueFrom } from 'rxjs';
import {
  AppProcess,
  EtcdServer,
  type ExampleApp,
  exited,
  makeCertificates,
  startExampleApp,
  waitFor,
} from '@repo/testing';

let etcd: EtcdServer;
const contexts: INestApplicationContext[] = [];
const processes: { stop(): Promise<void> }[] = [];

beforeAll(async () => {
  etcd = await EtcdServer.start();
});
afterEach(async () => {
  await Promise.all(contexts.splice(0).map((context) => context.close()));
  await Promise.all(processes.splice(0).map((process) => process.stop()));
});
afterAll(async () => {
  await etcd.destroy();
});

/** A log-service instance (apps/log-service) as its own process, stopped after the test. */
async function startLogService({ ttl }: { ttl: number }): Promise<ExampleApp> {
  const app = await startExampleApp('log-service', { ETCD_HOSTS: etcd.host, TTL: String(ttl), DRAIN_MS: '1000' });
  processes.push({
    stop: async () => {
      if (app.child.exitCode === null && app.child.signalCode === null) app.child.kill('SIGKILL');
      await exited(app.child);
    },
  });
  return app;
}

/** An app inside the test process whose only job is to call `service` through DiscoveryClientsModule. */
async function callerOf(client: Omit<DiscoveryClientOptions, 'name'>, options: DiscoveryModuleOptions = {}) {
  @Injectable()
  class Caller {
    constructor(@Inject('CLIENT') readonly client: ClientProxy) {}
  }
  @Module({
    imports: [
      DiscoveryModule.forRoot({ etcd: { hosts: [etcd.host] }, ...options }),
      DiscoveryClientsModule.register([{ name: 'CLIENT', ...client }]),
    ],
    providers: [Caller],
  })
  class CallerModule {}
  const app = await NestFactory.createApplicationContext(CallerModule, { logger: false, abortOnError: false });
  contexts.push(app);
  return { app, client: app.get(Caller).client };
}

type Receipt = { instance: string; stored: number };

describe('DiscoveryClientsModule: ClientProxy over discovery', () => {
  it('spreads calls round robin, and answers every call while one instance stops (SIGTERM) and another dies (SIGKILL)', async () => {
    const instances = await Promise.all([1, 2, 3].map(() => startLogService({ ttl: 2 })));
    const { app, client } = await callerOf({ service: 'log-service' });
    await app.get(DiscoveryClient).waitFor('log-service', { count: 3, timeoutMs: 10_000 });

    const counts = new Map<string, number>();
    const send = async () => {
      const receipt = await firstValueFrom(client.send<Receipt>('log.append', { line: 'hello' }));
      counts.set(receipt.instance, (counts.get(receipt.instance) ?? 0) + 1);
    };
    for (let call = 0; call < 300; call += 1) await send();
    // Round robin over an unchanged list: exactly a third each.
    expect([...counts.values()]).toEqual([100, 100, 100]);
    expect([...counts.keys()].sort()).toEqual(instances.map((instance) => instance.address).sort());

    counts.clear();
    let failures = 0;
    let sent = 0;
    let running = true;
    const senders = Array.from({ length: 4 }, async () => {
      while (running) {
        sent += 1;
        await send().catch(() => (failures += 1));
      }
    });
    await waitFor('traffic', () => sent > 50);
    instances[0].child.kill('SIGTERM');
    await waitFor('traffic after the SIGTERM', () => sent > 200);
    instances[1].child.kill('SIGKILL');
    // Until its lease expires the killed instance is still listed: its calls must move on, not fail.
    await waitFor(
      'the list to shrink to one',
      () => app.get(DiscoveryClient).getEndpoints('log-service').length === 1,
      { timeoutMs: 10_000 },
    );
    const after = sent;
    await waitFor('traffic after the SIGKILL', () => sent > after + 100);
    running = false;
    await Promise.all(senders);
    expect(failures).toBe(0);
    expect(counts.get(instances[2].address)).toBeGreaterThan(0);
  });

  it("returns the remote handler's error as it is, without retrying it on another instance", async () => {
    const apps = [1, 2, 3].map(() =>
      AppProcess.start(
        'discoverable-app',
        { transport: 'tcp', services: [{ name: 'failing' }] },
        { ETCD_HOSTS: etcd.host },
      ),
    );
    processes.push(...apps);
    const addresses = await Promise.all(
      apps.map(
        async (app) =>
          (
            (await app.waitForMessage('registration', 15_000, (m) => m.type === 'registered')).endpoint as {
              address: string;
            }
          ).address,
      ),
    );
    const { app, client } = await callerOf({ service: 'failing' });
    await app.get(DiscoveryClient).waitFor('failing', { count: 3, timeoutMs: 10_000 });

    await expect(firstValueFrom(client.send('fail', {}))).rejects.toEqual({
      status: 'error',
      message: 'refused by the handler',
    });
    const failuresPerInstance = await Promise.all(
      addresses.map(async (address) => {
        const [host, port] = address.split(':');
        const direct = new ClientTCP({ host: host, port: Number(port) });
        try {
          return await firstValueFrom(direct.send<number>('failures', {}));
        } finally {
          direct.close();
        }
      }),
    );
    expect(failuresPerInstance.reduce((sum, count) => sum + count, 0)).toBe(1);
  });

  it('sends the same key to the same instance with keyOf and ConsistentHashStrategy, and feeds LeastOutstandingStrategy', async () => {
    await Promise.all([1, 2, 3].map(() => startLogService({ ttl: 10 })));
    const hashed = await callerOf(
      { service: 'log-service', keyOf: (_pattern, data) => (data as { user: string }).user },
      { strategies: { 'log-service': new ConsistentHashStrategy() } },
    );
    await hashed.app.get(DiscoveryClient).waitFor('log-service', { count: 3, timeoutMs: 10_000 });
    const instanceFor = async (user: string) =>
      (await firstValueFrom(hashed.client.send<Receipt>('log.append', { line: 'x', user }))).instance;
    const first = await instanceFor('ann');
    expect([await instanceFor('ann'), await instanceFor('ann')]).toEqual([first, first]);

    const leastOutstanding = new LeastOutstandingStrategy();
    const balanced = await callerOf({ service: 'log-service' }, { strategy: leastOutstanding });
    const endpoints = await balanced.app.get(DiscoveryClient).waitFor('log-service', { count: 3, timeoutMs: 10_000 });
    const inFlight = Array.from({ length: 30 }, () =>
      firstValueFrom(balanced.client.send<Receipt>('log.append', { line: 'y' })),
    );
    expect(endpoints.reduce((sum, endpoint) => sum + leastOutstanding.outstanding(endpoint), 0)).toBe(30);
    await Promise.all(inFlight);
    expect(endpoints.map((endpoint) => leastOutstanding.outstanding(endpoint))).toEqual([0, 0, 0]);
  });

  it("calls instances over TCP with TLS, given the CA in the entry's options", async () => {
    const certificates = await makeCertificates();
    try {
      const server = AppProcess.start(
        'discoverable-app',
        {
          transport: 'tcp',
          services: [{ name: 'secure-tcp' }],
          tls: { keyFile: certificates.keyFile, certFile: certificates.certFile },
        },
        { ETCD_HOSTS: etcd.host },
      );
      processes.push(server);
      await server.waitForMessage('registration', 15_000, (message) => message.type === 'registered');
      const tlsOptions = { ca: await readFile(certificates.caFile) };
      const { app, client } = await callerOf({ service: 'secure-tcp', options: { tlsOptions } });
      await app.get(DiscoveryClient).waitFor('secure-tcp', { timeoutMs: 10_000 });
      expect(await firstValueFrom(client.send('ping', {}))).toBe('pong');
      // Without the CA the handshake fails: Nest's ClientTCP logs the TLS reason and reports the close.
      const { client: untrusting } = await callerOf({ service: 'secure-tcp', options: { tlsOptions: {} } });
      await expect(firstValueFrom(untrusting.send('ping', {}))).rejects.toThrow('Connection closed');
    } finally {
      await rm(certificates.dir, { recursive: true, force: true });
    }
  });

  it('throws NoEndpointAvailableError when the service has no instance', async () => {
    const { client } = await callerOf({ service: 'nobody' });
    await expect(firstValueFrom(client.send('anything', {}))).rejects.toThrow(NoEndpointAvailableError);
    await expect(firstValueFrom(client.send('anything', {}))).rejects.toThrow(
      'No endpoint available for service "nobody"',
    );
  });

  it('refuses broker transports at init, saying why', async () => {
    await expect(callerOf({ service: 'queue', transport: Transport.REDIS as never })).rejects.toThrow(
      /transport REDIS is not supported.*Broker transports .* route through their broker and need no discovery/,
    );
  });
});
