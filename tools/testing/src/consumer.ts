import { Module, type INestApplicationContext, type LoggerService } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { DiscoveryClient, DiscoveryModule, type DiscoveryModuleOptions } from 'nestjs-etcd-discovery';

/** Keeps what the library logs, so that tests can count warnings. */
export class CapturingLogger implements LoggerService {
  readonly warnings: string[] = [];
  readonly errors: string[] = [];
  log(): void {}
  warn(message: unknown): void {
    this.warnings.push(String(message));
  }
  error(message: unknown): void {
    this.errors.push(String(message));
  }
}

/** A discovery-only Nest application context inside the test process. */
export async function startConsumer(
  options: DiscoveryModuleOptions,
  logger: LoggerService = new CapturingLogger(),
): Promise<{ app: INestApplicationContext; discovery: DiscoveryClient }> {
  @Module({ imports: [DiscoveryModule.forRoot(options)] })
  class ConsumerModule {}
  const app = await NestFactory.createApplicationContext(ConsumerModule, { logger, abortOnError: false });
  return { app, discovery: app.get(DiscoveryClient) };
}
