/**
 * The churn bench's consumer, its own process so that its CPU time is its own: it requires one
 * service, subscribes to its endpoints, and reports how many lists it has seen when asked (SIGUSR2).
 */
import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { printJsonLine } from '@repo/testing/json-lines';
import { DiscoveryClient, DiscoveryModule } from 'nestjs-etcd-discovery';

const { service } = JSON.parse(process.env.APP_CONFIG!) as { service: string };

@Module({ imports: [DiscoveryModule.forRoot({ requires: [service] })] })
class WatchModule {}

const app = await NestFactory.createApplicationContext(WatchModule, { logger: ['error'] });
let lists = 0;
let size = 0;
app
  .get(DiscoveryClient)
  .endpoints$(service)
  .subscribe((list) => {
    lists += 1;
    size = list.length;
  });
process.on('SIGUSR2', () => printJsonLine({ lists, size }));
printJsonLine({ ready: true });
process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
