import { Module } from '@nestjs/common';
import { ConfigModule, ConfigService } from '@nestjs/config';
import { DiscoveryModule } from 'nestjs-etcd-discovery';
import { LogController } from './log.controller.js';
import { LogStore } from './log-store.js';

@Module({
  imports: [
    ConfigModule.forRoot(),
    // etcd hosts from ETCD_HOSTS (the library's default); TTL, drain and zone from the configuration,
    // so that the demo can shorten them.
    DiscoveryModule.forRootAsync({
      imports: [ConfigModule],
      inject: [ConfigService],
      useFactory: (config: ConfigService) => ({
        ttl: Number(config.get('TTL', 10)),
        drainMs: Number(config.get('DRAIN_MS', 1000)),
        zone: config.get<string>('ZONE'),
      }),
    }),
  ],
  controllers: [LogController],
  providers: [LogStore],
})
export class LogModule {}
