/**
 * The app the compatibility test compiles in a fresh Nest 11 CommonJS project and in a fresh Nest 12
 * ESM project, with the packed library installed from its tarball: a TCP microservice that registers
 * itself, discovers itself, calls itself through DiscoveryClientsModule (by service and by pattern), reports its health through
 * the terminus indicator, and deregisters on SIGTERM. When the app has the OpenTelemetry API and
 * metrics SDK installed, it reads the library's metrics of those calls too (the test runs it without
 * them, then installs them).
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
  imports: [
    DiscoveryModule.forRoot({ ttl: 5 }),
    DiscoveryClientsModule.register([
      { name: 'ECHO', service: 'compat-echo' },
      { name: 'BUS', byPattern: true },
    ]),
    TerminusModule,
  ],
  controllers: [EchoController],
  providers: [DiscoveryHealthIndicator],
})
class AppModule {}

/** A metric reader on the OpenTelemetry SDK if the app has it (set up before Nest, as OpenTelemetry asks); undefined if not. */
async function startMetrics(): Promise<{ collect(): Promise<any> } | undefined> {
  // Names in variables: the compiler does not look for packages this app may not have.
  const apiName = '@opentelemetry/api';
  const sdkName = '@opentelemetry/sdk-metrics';
  let api: any;
  let sdk: any;
  try {
    api = await import(apiName);
    sdk = await import(sdkName);
  } catch {
    return undefined;
  }
  class Reader extends (sdk.MetricReader as new () => { collect(): Promise<any> }) {
    async onShutdown(): Promise<void> {}
    async onForceFlush(): Promise<void> {}
  }
  const reader = new Reader();
  api.metrics.setGlobalMeterProvider(new sdk.MeterProvider({ readers: [reader] }));
  return reader;
}

/** The library's metric points: `name attribute values…` → value (a histogram's count). */
async function libraryMetrics(reader: { collect(): Promise<any> }): Promise<Record<string, number>> {
  const { resourceMetrics } = await reader.collect();
  const points: Record<string, number> = {};
  for (const scope of resourceMetrics.scopeMetrics) {
    if (scope.scope.name !== 'nestjs-etcd-discovery') continue;
    for (const metric of scope.metrics) {
      for (const point of metric.dataPoints) {
        points[[metric.descriptor.name, ...Object.values(point.attributes)].join(' ')] =
          typeof point.value === 'number' ? point.value : point.value.count;
      }
    }
  }
  return points;
}

async function main(): Promise<void> {
  const reader = await startMetrics();
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
  report('called', { address: endpoint.address, reply, sum, patterns: endpoint.patterns });
  // The health indicator, from its own subpath, on the app's @nestjs/terminus.
  report('health', app.get(DiscoveryHealthIndicator).isHealthy('discovery'));
  report(
    'metrics',
    reader === undefined ? { installed: false } : { installed: true, points: await libraryMetrics(reader) },
  );
}

main().catch((error: Error) => {
  report('error', { name: error.name, message: error.message, stack: error.stack });
  process.exitCode = 1;
});
