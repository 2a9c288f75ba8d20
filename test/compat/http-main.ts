/**
 * The HTTP-only app the compatibility test compiles in fresh Nest 11 (CommonJS) and Nest 12 (ESM) projects
 * that have no @nestjs/microservices: it registers itself, discovers itself and calls itself through
 * `discovery.fetch()` and `call()`, reads the codec and dashboard entries, is told what to install when it
 * declares a client proxy, and deregisters on SIGTERM.
 * The same source serves both module systems (no top-level await, no import.meta).
 */
import 'reflect-metadata';
import { Controller, Get, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import {
  Discoverable,
  DiscoveryClient,
  DiscoveryClientsModule,
  DiscoveryError,
  DiscoveryModule,
} from 'nestjs-etcd-discovery';
import { servicePrefix } from 'nestjs-etcd-discovery/codec';
import { DiscoveryDashboardModule } from 'nestjs-etcd-discovery/dashboard';
import { DiscoveryTestingModule } from 'nestjs-etcd-discovery/testing';

function report(event: string, fields: object = {}): void {
  process.stdout.write(`${JSON.stringify({ event, ...fields })}\n`);
}

@Discoverable('compat-http')
@Controller()
class HelloController {
  @Get('hello')
  hello(): { hello: string } {
    return { hello: 'world' };
  }
}

@Module({
  imports: [DiscoveryModule.forRoot({ ttl: 5 }), DiscoveryDashboardModule.forRoot({ path: '/discovery' })],
  controllers: [HelloController],
})
class AppModule {}

// On the testing kit (etcd in memory): a failed start leaves no connection behind.
@Module({
  imports: [
    DiscoveryTestingModule.forRoot({ endpoints: { echo: ['127.0.0.1:1'] } }),
    DiscoveryClientsModule.register([{ name: 'ECHO', service: 'echo' }]),
  ],
})
class WithClientModule {}

async function main(): Promise<void> {
  const app = await NestFactory.create(AppModule, { logger: ['error', 'warn'] });
  app.enableShutdownHooks();
  await app.listen(0, '127.0.0.1');
  const discovery = app.get(DiscoveryClient);
  const [endpoint] = await discovery.waitFor('compat-http');
  const fetched = (await (await discovery.fetch('http://compat-http/hello')).json()) as unknown;
  const called = await discovery.call('compat-http', async (picked, { signal }) => {
    const response = await fetch(`http://${picked.address}/hello`, { signal });
    return (await response.json()) as unknown;
  });
  const dashboard = (await (await fetch(`http://${endpoint.address}/discovery/api`)).json()) as { services: unknown[] };
  report('called', {
    address: endpoint.address,
    fetched,
    called,
    prefix: servicePrefix('/services', 'compat-http'),
    dashboardServices: dashboard.services.length,
  });

  // A client proxy needs @nestjs/microservices, which this app does not have: a clear error at init.
  const failure = await NestFactory.createApplicationContext(WithClientModule, {
    logger: false,
    abortOnError: false,
  }).then(
    () => undefined,
    (error: unknown) => error,
  );
  report('client-proxy', {
    isDiscoveryError: failure instanceof DiscoveryError,
    code: (failure as DiscoveryError | undefined)?.code,
    message: (failure as Error | undefined)?.message,
  });
}

main().catch((error: Error) => {
  report('error', { name: error.name, message: error.message, stack: error.stack });
  process.exitCode = 1;
});
