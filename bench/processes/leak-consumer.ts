/**
 * The leak bench's consumer: subscribes to and unsubscribes from endpoints$ over and over — on a
 * service watched throughout (no watch starts), and on one watched only while subscribed (a watch
 * starts and stops every time) — and reports its memory, after a GC, between the phases.
 */
import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { printJsonLine } from '@repo/testing/json-lines';
import { DiscoveryClient, DiscoveryModule } from 'nestjs-etcd-discovery';
import { firstValueFrom } from 'rxjs';

const { subscriptions, watches } = JSON.parse(process.env.APP_CONFIG!) as { subscriptions: number; watches: number };

@Module({ imports: [DiscoveryModule.forRoot({ requires: ['pinned'] })] })
class LeakModule {}

const app = await NestFactory.createApplicationContext(LeakModule, { logger: ['error'] });
const discovery = app.get(DiscoveryClient);
const memory = () => {
  global.gc!();
  const { rss, heapUsed } = process.memoryUsage();
  return { rss, heapUsed };
};
const step = (phase: string) =>
  new Promise<void>((resolve) => {
    printJsonLine({ phase, ...memory() });
    process.once('SIGUSR2', () => resolve());
  });

// Both paths run a tenth of their cycles first, so that what is measured is growth, not what the
// first uses allocate for good (compiled code, object shapes, buffers that grow once).
for (let cycle = 0; cycle < subscriptions / 10; cycle += 1) discovery.endpoints$('pinned').subscribe().unsubscribe();
for (let cycle = 0; cycle < watches / 10; cycle += 1) await firstValueFrom(discovery.endpoints$('transient'));
// A watch's stop is asynchronous (a cancel sent to etcd): give it a moment before anything is counted.
const settle = () => new Promise((resolve) => setTimeout(resolve, 500));
await settle();
await step('start');
for (let cycle = 0; cycle < subscriptions; cycle += 1) discovery.endpoints$('pinned').subscribe().unsubscribe();
await step('after-subscriptions');
for (let cycle = 0; cycle < watches; cycle += 1) await firstValueFrom(discovery.endpoints$('transient'));
await settle();
await step('after-watches');
process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
