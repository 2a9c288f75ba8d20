/**
 * A cost-bench app, run as its own process: it registers `services` services under one lease,
 * requires "target", and with PICK=1 calls pick("target") without pause. It reports how many picks
 * it made when asked (SIGUSR2), so the bench can relate etcd's request counters to them.
 */
import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { DiscoveryClient, DiscoveryModule, ServiceRegistry } from 'nestjs-etcd-discovery';
import { printJsonLine } from '@repo/testing/json-lines';

const { services, pick } = JSON.parse(process.env.APP_CONFIG!) as { services: number; pick: boolean };

@Module({ imports: [DiscoveryModule.forRoot({ requires: ['target'] })] })
class CostModule {}
const app = await NestFactory.createApplicationContext(CostModule, { logger: ['error'] });
const registry = app.get(ServiceRegistry);
await Promise.all(
  Array.from({ length: services }, (_, index) =>
    registry.register({ service: `cost-${index}`, host: '127.0.0.1', port: 30_000 + index }),
  ),
);
let picks = 0;
const discovery = app.get(DiscoveryClient);
const loop = () => {
  for (let index = 0; index < 10_000; index += 1) discovery.pick('target');
  picks += 10_000;
  setImmediate(loop);
};
if (pick) loop();
process.on('SIGUSR2', () => printJsonLine({ picks }));
printJsonLine({ ready: true });
process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
