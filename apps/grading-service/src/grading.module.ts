import { Module } from '@nestjs/common';
import { ConfigModule, ConfigService } from '@nestjs/config';
import { TerminusModule } from '@nestjs/terminus';
import { DiscoveryClientsModule, DiscoveryModule } from 'nestjs-etcd-discovery';
import { DiscoveryHealthIndicator } from 'nestjs-etcd-discovery/terminus';
import { GradesController } from './grades.controller.js';
import { HealthController } from './health.controller.js';

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
    // A log-service instance that does not reply within a second counts as failing; the line goes to
    // another. A slow one may then have stored it too: a log line twice is better than a lost grade.
    DiscoveryClientsModule.register([
      { name: 'LOG_SERVICE', service: 'log-service', timeoutMs: 1000, retryOnTimeout: true },
    ]),
    TerminusModule,
  ],
  controllers: [GradesController, HealthController],
  providers: [DiscoveryHealthIndicator],
})
export class GradingModule {}
