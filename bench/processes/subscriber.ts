/**
 * The propagation bench's consumer, its own process: it watches one service twice — through the
 * library (`endpoints$`, the ids from `changes$`) and through a bare etcd3 watcher on its own client,
 * the baseline — and reports when each saw every change. Handlers only take the time and keep it;
 * printing happens later, in batches, so that one watcher's report never delays the other's.
 */
import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { printJsonLine } from '@repo/testing/json-lines';
import { Etcd3 } from 'etcd3';
import { DiscoveryClient, DiscoveryModule, type EndpointChange } from 'nestjs-etcd-discovery';
import { servicePrefix } from 'nestjs-etcd-discovery/codec';

const { service } = JSON.parse(process.env.APP_CONFIG!) as { service: string };
const now = () => performance.timeOrigin + performance.now();
const seen: { via: 'library' | 'bare'; change: string; at: number; batch: number }[] = [];
let emissions = 0;

@Module({ imports: [DiscoveryModule.forRoot({ requires: [service] })] })
class SubscriberModule {}

const app = await NestFactory.createApplicationContext(SubscriberModule, { logger: ['error'] });
const discovery = app.get(DiscoveryClient);
// changes$ fires just before the list it leads to: it says which ids the next list brings.
let pending: string[] = [];
discovery
  .changes$(service)
  .subscribe((change: EndpointChange) => pending.push(`${change.type === 'removed' ? '-' : '+'}${change.endpoint.id}`));
let first = true;
discovery.endpoints$(service).subscribe(() => {
  const at = now();
  if (first) {
    first = false;
    return;
  }
  emissions += 1;
  for (const change of pending) seen.push({ via: 'library', change, at, batch: emissions });
  pending = [];
});

const bare = new Etcd3({ hosts: process.env.ETCD_HOSTS!.split(',') });
const watcher = await bare.watch().prefix(servicePrefix('/services', service)).create();
let responses = 0;
watcher.on('data', (response) => {
  const at = now();
  responses += 1;
  for (const event of response.events) {
    const id = event.kv.key.toString().slice(servicePrefix('/services', service).length);
    seen.push({ via: 'bare', change: `${event.type === 'Put' ? '+' : '-'}${id}`, at, batch: responses });
  }
});

setInterval(() => {
  for (const entry of seen.splice(0)) printJsonLine(entry);
}, 20);
printJsonLine({ ready: true, endpoints: discovery.getEndpoints(service).length });
process.on('SIGTERM', () => {
  void watcher.cancel().finally(() => {
    bare.close();
    void app.close().then(() => process.exit(0));
  });
});
