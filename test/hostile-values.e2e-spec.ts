import { Module, type INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { ClientProxy } from '@nestjs/microservices';
import type { Etcd3 } from 'etcd3';
import {
  DiscoveryClient,
  DiscoveryClientsModule,
  DiscoveryModule,
  type LoadBalancingStrategy,
} from 'nestjs-etcd-discovery';
import { endpointKey } from 'nestjs-etcd-discovery/codec';
import { firstValueFrom } from 'rxjs';
import {
  AppProcess,
  CapturingLogger,
  EtcdServer,
  putEndpoint,
  startConsumer,
  testEndpoint,
  waitFor,
} from '@repo/testing';

let etcd: EtcdServer;
let client: Etcd3;
const contexts: INestApplicationContext[] = [];
const processes: AppProcess[] = [];

beforeAll(async () => {
  etcd = await EtcdServer.start();
  client = etcd.client();
});
afterEach(async () => {
  await Promise.all(contexts.splice(0).map((context) => context.close()));
  await Promise.all(processes.splice(0).map((app) => app.stop()));
});
afterAll(async () => {
  await etcd.destroy();
});

describe('unreadable and hostile values under the namespace', () => {
  it('are skipped with one warning each; the other endpoints and the watch are unaffected', async () => {
    const hostile: [string, string][] = [
      ['garbage', '%%% not an endpoint %%%'],
      ['huge', 'x'.repeat(1_000_000)],
      ['addr-number', '{"Addr":123}'],
      ['weight-string', '{"Addr":"10.3.0.9:80","Metadata":{"weight":"heavy"}}'],
      ['json-null', 'null'],
      ['json-array', '[{"Addr":"10.3.0.9:80"}]'],
      ['json-string', '"10.3.0.9:80"'],
      ['no-port', '{"Addr":"10.3.0.9"}'],
      ['port-zero', '{"Addr":"10.3.0.9:0"}'],
      ['port-too-big', '{"Addr":"10.3.0.9:65536"}'],
      ['negative-port', '10.3.0.9:-1'],
      ['../../escape', '{"Addr":"10.3.0.9:80"}'],
      ['./dot', '{"Addr":"10.3.0.9:80"}'],
    ];
    await putEndpoint(client, testEndpoint('svc', 'a', 1));
    for (const [id, value] of hostile) await client.put(endpointKey('/services', 'svc', id)).value(value);
    await putEndpoint(client, testEndpoint('svc', 'b', 2));

    const logger = new CapturingLogger();
    const { app, discovery } = await startConsumer({ etcd: { hosts: [etcd.host] }, requires: ['svc'] }, logger);
    contexts.push(app);
    expect(discovery.getEndpoints('svc').map((endpoint) => endpoint.id)).toEqual(['a', 'b']);
    const skipped = logger.warnings.filter((warning) => warning.startsWith('Skipping'));
    expect(skipped).toHaveLength(hostile.length);
    for (const [id] of hostile)
      expect(skipped.filter((warning) => warning.startsWith(`Skipping /services/svc/${id}:`))).toHaveLength(1);
    // A log line never carries a huge value whole.
    expect(Math.max(...skipped.map((warning) => warning.length))).toBeLessThan(400);

    await putEndpoint(client, testEndpoint('svc', 'c', 3));
    await waitFor('the watch to go on', () => discovery.getEndpoints('svc').length === 3);
    expect(logger.warnings.filter((warning) => warning.startsWith('Skipping'))).toHaveLength(hostile.length);
  });
});

describe('user code that throws', () => {
  it('a strategy that throws fails that pick() only: the watch and the app go on', async () => {
    let broken = true;
    const fragile: LoadBalancingStrategy = {
      pick: (endpoints) => {
        if (broken) throw new Error('strategy bug');
        return endpoints[0];
      },
    };
    await putEndpoint(client, testEndpoint('fragile', 'a', 1));
    const { app, discovery } = await startConsumer({
      etcd: { hosts: [etcd.host] },
      requires: ['fragile'],
      strategies: { fragile },
    });
    contexts.push(app);
    expect(() => discovery.pick('fragile')).toThrow('strategy bug');
    await putEndpoint(client, testEndpoint('fragile', 'b', 2));
    await waitFor('the watch to go on', () => discovery.getEndpoints('fragile').length === 2);
    broken = false;
    expect(discovery.pick('fragile').id).toBe('a');
  });

  it('a keyOf that throws fails that send() only: the next calls go through', async () => {
    const server = AppProcess.start(
      'discoverable-app',
      { transport: 'tcp', services: [{ name: 'pinger' }] },
      { ETCD_HOSTS: etcd.host },
    );
    processes.push(server);
    await server.waitForMessage('registration', 15_000, (message) => message.type === 'registered');
    @Module({
      imports: [
        DiscoveryModule.forRoot({ etcd: { hosts: [etcd.host] } }),
        DiscoveryClientsModule.register([
          {
            name: 'PINGER',
            service: 'pinger',
            keyOf: (_pattern, data) => {
              if ((data as { bad?: boolean }).bad) throw new Error('keyOf bug');
              return undefined;
            },
          },
        ]),
      ],
    })
    class CallerModule {}
    const app = await NestFactory.createApplicationContext(CallerModule, { logger: false });
    contexts.push(app);
    const pinger = app.get<ClientProxy>('PINGER');
    await app.get(DiscoveryClient).waitFor('pinger', { timeoutMs: 10_000 });
    await expect(firstValueFrom(pinger.send('ping', { bad: true }))).rejects.toThrow('keyOf bug');
    expect(await firstValueFrom(pinger.send('ping', {}))).toBe('pong');
  });
});
