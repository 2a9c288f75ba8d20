import { Module, type INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ClientGrpcProxy } from '@nestjs/microservices';
import { fileURLToPath } from 'node:url';
import { DiscoveryClient, DiscoveryModule } from 'nestjs-etcd-discovery';
import { firstValueFrom, type Observable } from 'rxjs';
import { AppProcess, EtcdGrpcProxy, EtcdServer, freePort, waitFor } from '@repo/testing';

interface Echo {
  who(request: object): Observable<{ id: string }>;
}

let etcd: EtcdServer;
let proxy: EtcdGrpcProxy;
let context: INestApplicationContext | undefined;
let grpcClient: ClientGrpcProxy | undefined;
const servers: AppProcess[] = [];

beforeAll(async () => {
  etcd = await EtcdServer.start();
  proxy = await EtcdGrpcProxy.start([etcd.host]);
});
afterEach(async () => {
  grpcClient?.close();
  await context?.close();
  await Promise.all(servers.splice(0).map((server) => server.stop()));
});
afterAll(async () => {
  await proxy.destroy();
  await etcd.destroy();
});

describe('gRPC over etcd:///<service>', () => {
  it.each([
    ['directly', () => etcd.host],
    ['through etcd grpc-proxy', () => proxy.host],
  ])(
    'a Nest gRPC client with round_robin reaches every instance, and stops calling one that deregistered (etcd %s)',
    async (_via, etcdHost) => {
      const host = etcdHost();
      const ports = await Promise.all([1, 2, 3].map(() => freePort()));
      for (const port of ports) {
        // A long drain: the deregistered instance still serves, so only discovery can steer calls away from it.
        servers.push(AppProcess.start('grpc-app', { port, drainMs: 5000 }, { ETCD_HOSTS: host }));
      }
      await Promise.all(
        servers.map((server) => server.waitForMessage('registration', 15_000, (m) => m.type === 'registered')),
      );

      // The app that calls: DiscoveryModule registers the etcd: scheme with the grpc-js Nest uses.
      @Module({ imports: [DiscoveryModule.forRoot({ etcd: { hosts: [host] }, requires: ['echo'] })] })
      class CallerModule {}
      context = await NestFactory.createApplicationContext(CallerModule, { logger: false });
      const discovery = context.get(DiscoveryClient);
      await discovery.waitFor('echo', { count: 3, timeoutMs: 10_000 });
      grpcClient = new ClientGrpcProxy({
        package: 'echo',
        protoPath: fileURLToPath(new URL('./fixtures/echo.proto', import.meta.url)),
        url: 'etcd:///echo',
        channelOptions: { 'grpc.service_config': JSON.stringify({ loadBalancingConfig: [{ round_robin: {} }] }) },
      });
      const echo = grpcClient.getService<Echo>('Echo');
      const callMany = async (count: number) => {
        const seen = new Set<string>();
        for (let call = 0; call < count; call += 1) seen.add((await firstValueFrom(echo.who({}))).id);
        return seen;
      };
      const all = ports.map((port) => `127.0.0.1:${port}`).sort();
      await waitFor(
        'calls to reach all three instances',
        async () => [...(await callMany(12))].sort().join() === all.join(),
        {
          timeoutMs: 10_000,
        },
      );

      servers[0].kill('SIGTERM');
      await waitFor('discovery to drop the instance', () => discovery.getEndpoints('echo').length === 2);
      await waitFor(
        'grpc-js to take the new list',
        async () => !(await callMany(6)).has(all[0] === `127.0.0.1:${ports[0]}` ? all[0] : `127.0.0.1:${ports[0]}`),
        {
          timeoutMs: 3000,
        },
      );
      // Still draining (up to 5 s), so it would answer; no call goes to it any more.
      expect(servers[0].child.exitCode).toBeNull();
      const after = await callMany(30);
      expect([...after].sort()).toEqual(all.filter((id) => id !== `127.0.0.1:${ports[0]}`));
    },
  );
});
