/**
 * A scale-bench consumer, run as its own process so that its memory is its own: it requires the
 * services in APP_CONFIG, reports how long the first full lists took and its RSS, then reports
 * every new list of the first service (size and time).
 */
import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { DiscoveryClient, DiscoveryModule } from 'nestjs-etcd-discovery';
import { printJsonLine } from '@repo/testing/json-lines';

const { services, expected } = JSON.parse(process.env.APP_CONFIG!) as { services: string[]; expected: number };
const now = () => performance.timeOrigin + performance.now();

const startedAt = now();
@Module({ imports: [DiscoveryModule.forRoot({ requires: services })] })
class ScaleModule {}
const app = await NestFactory.createApplicationContext(ScaleModule, { logger: ['error'] });
const discovery = app.get(DiscoveryClient);
// Bootstrap waits for every required service's first list ('fail-fast'): they are all here now.
const total = services.reduce((sum, service) => sum + discovery.getEndpoints(service).length, 0);
if (total !== expected) throw new Error(`expected ${expected} endpoints, got ${total}`);
global.gc?.();
printJsonLine({ firstListMs: now() - startedAt, rssBytes: process.memoryUsage().rss, endpoints: total });
discovery.endpoints$(services[0]!).subscribe((list) => printJsonLine({ emission: list.length, at: now() }));
process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
