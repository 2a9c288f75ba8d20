import { Module } from '@nestjs/common';
import { DiscoveryModule } from 'nestjs-etcd-discovery';
import { LogController } from './log.controller.js';
import { LogStore } from './log-store.js';

@Module({
  // etcd hosts from ETCD_HOSTS; TTL and drain from the environment so the demo can shorten them.
  imports: [DiscoveryModule.forRoot({ ttl: Number(process.env.TTL ?? 10), drainMs: Number(process.env.DRAIN_MS ?? 1000), zone: process.env.ZONE })],
  controllers: [LogController],
  providers: [LogStore],
})
export class LogModule {}
