/**
 * The scale bench's consumer, its own process so that its memory is its own: it requires the
 * services in APP_CONFIG and reports how long until their first lists were readable — from the
 * start of bootstrap, and from the start of the process — and its RSS and heap after a GC.
 */
import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { printJsonLine } from '@repo/testing/json-lines';
import { DiscoveryClient, DiscoveryModule } from 'nestjs-etcd-discovery';

const { services, expected } = JSON.parse(process.env.APP_CONFIG!) as { services: string[]; expected: number };

@Module({ imports: [DiscoveryModule.forRoot({ requires: services })] })
class ScaleModule {}

const bootstrapStarted = performance.now();
const app = await NestFactory.createApplicationContext(ScaleModule, { logger: ['error'] });
// Bootstrap waits for every required service's first list ('fail-fast'): they are all readable now.
const readable = performance.now();
const discovery = app.get(DiscoveryClient);
const total = services.reduce((sum, service) => sum + discovery.getEndpoints(service).length, 0);
if (total !== expected) throw new Error(`expected ${expected} endpoints, got ${total}`);
global.gc?.();
const memory = process.memoryUsage();
printJsonLine({
  fromBootstrapMs: readable - bootstrapStarted,
  fromProcessStartMs: readable,
  rssBytes: memory.rss,
  heapBytes: memory.heapUsed,
  endpoints: total,
});
process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
