/**
 * A propagation-bench subscriber, run as its own process: it watches service "prop" twice — through
 * the library (`endpoints$`) and through a bare etcd3 watcher on the same prefix, the limit — and
 * prints, for every change, when each of them saw it (a clock shared by all processes on the machine).
 */
import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Etcd3 } from 'etcd3';
import { DiscoveryClient, DiscoveryModule, servicePrefix } from 'nestjs-etcd-discovery';
import { printJsonLine } from '@repo/testing/json-lines';

const now = () => performance.timeOrigin + performance.now();

@Module({ imports: [DiscoveryModule.forRoot({ requires: ['prop'] })] })
class SubscriberModule {}

const app = await NestFactory.createApplicationContext(SubscriberModule, { logger: ['error'] });
let previous = new Set<string>();
app.get(DiscoveryClient).endpoints$('prop').subscribe((endpoints) => {
  const at = now();
  const ids = new Set(endpoints.map((endpoint) => endpoint.id));
  for (const id of ids) if (!previous.has(id)) printJsonLine({ via: 'library', change: `+${id}`, at });
  for (const id of previous) if (!ids.has(id)) printJsonLine({ via: 'library', change: `-${id}`, at });
  previous = ids;
});

const bare = new Etcd3({ hosts: process.env.ETCD_HOSTS!.split(',') });
const watcher = await bare.watch().prefix(servicePrefix('/services', 'prop')).create();
watcher.on('put', (kv) => printJsonLine({ via: 'bare', change: `+${kv.key.toString().split('/').at(-1)}`, at: now() }));
watcher.on('delete', (kv) => printJsonLine({ via: 'bare', change: `-${kv.key.toString().split('/').at(-1)}`, at: now() }));
printJsonLine({ ready: true });
process.on('SIGTERM', () => {
  void watcher.cancel().finally(() => {
    bare.close();
    void app.close().then(() => process.exit(0));
  });
});
