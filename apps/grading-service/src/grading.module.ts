import { Module } from '@nestjs/common';
import { DiscoveryClientsModule, DiscoveryModule } from 'nestjs-etcd-discovery';
import { GradesController } from './grades.controller.js';

@Module({
  imports: [
    DiscoveryModule.forRoot({ ttl: Number(process.env.TTL ?? 10), drainMs: Number(process.env.DRAIN_MS ?? 1000), zone: process.env.ZONE }),
    DiscoveryClientsModule.register([{ name: 'LOG_SERVICE', service: 'log-service' }]),
  ],
  controllers: [GradesController],
})
export class GradingModule {}
