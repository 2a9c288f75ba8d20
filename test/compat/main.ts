/**
 * The app the compatibility test compiles in a fresh Nest 11 CommonJS project and in a fresh Nest 12
 * ESM project, with the packed library installed from its tarball: a TCP microservice that registers
 * itself, discovers itself, calls itself through DiscoveryClientsModule (by service and by pattern), reports its health through
 * the terminus indicator, and deregisters on SIGTERM.
 * The same source serves both module systems (no top-level await, no import.meta).
 */
import 'reflect-metadata';
import { Controller, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ClientProxy, MessagePattern, Transport, type MicroserviceOptions } from '@nestjs/microservices';
import { TerminusModule } from '@nestjs/terminus';
import { first, firstValueFrom } from 'rxjs';
import { Discoverable, DiscoveryClient, DiscoveryClientsModule, DiscoveryModule } from 'nestjs-etcd-discovery';
import { DiscoveryHealthIndicator } from 'nestjs-etcd-discovery/terminus';
import { DiscoveryTestingModule } from 'nestjs-etcd-discovery/testing';

function report(event: string, fields: object = {}): void {
  process.stdout.write(`${JSON.stringify({ event, ...fields })}\n`);
}

@Discoverable('compat-echo')
@Controller()
class EchoController {
  @MessagePattern('echo')
  echo(text: string): string {
    return `echo: ${text}`;
  }

  @MessagePattern({ cmd: 'sum', v: 1 })
  sum(numbers: number[]): number {
    return numbers.reduce((total, value) => total + value, 0);
  }
}

@Module({
  imports: [DiscoveryModule.forRoot({ ttl: 5 }), DiscoveryClientsModule.register([{ name: 'ECHO', service: 'compat-echo' }, { name: 'BUS', byPattern: true }]), TerminusModule],
  controllers: [EchoController],
  providers: [DiscoveryHealthIndicator],
})
class AppModule {}

async function main(): Promise<void> {
  // The testing kit, from its own subpath: discovery in memory, no etcd.
  const testing = await NestFactory.createApplicationContext(
    DiscoveryTestingModule.forRoot({ endpoints: { memory: ['127.0.0.1:1'] } }),
    { logger: false },
  );
  report('testing-kit', { picked: testing.get(DiscoveryClient).pick('memory').address });
  await testing.close();

  const app = await NestFactory.createMicroservice<MicroserviceOptions>(AppModule, {
    transport: Transport.TCP,
    options: { host: '127.0.0.1', port: 0 },
    logger: ['error', 'warn'],
  });
  app.enableShutdownHooks();
  await app.listen();
  const [endpoint] = await app.get(DiscoveryClient).waitFor('compat-echo');
  const reply = await firstValueFrom(app.get<ClientProxy>('ECHO').send<string>('echo', 'hello'));
  // By pattern: the object pattern as this Nest version normalises it, published and found again —
  // once the catalog (its own watch of the namespace) has seen this instance too.
  const discovery = app.get(DiscoveryClient);
  await firstValueFrom(discovery.catalog$().pipe(first(() => discovery.whoHandles({ cmd: 'sum', v: 1 }).length > 0)));
  const sum = await firstValueFrom(app.get<ClientProxy>('BUS').send<number>({ v: 1, cmd: 'sum' }, [2, 3]));
  report('called', { address: endpoint!.address, reply, sum, patterns: endpoint!.patterns });
  // The health indicator, from its own subpath, on the app's @nestjs/terminus.
  report('health', app.get(DiscoveryHealthIndicator).isHealthy('discovery'));
}

main().catch((error: Error) => {
  report('error', { name: error.name, message: error.message, stack: error.stack });
  process.exitCode = 1;
});
