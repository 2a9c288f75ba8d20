import { Module } from '@nestjs/common';
import { ConfigModule, ConfigService } from '@nestjs/config';
import { DiscoveryClientsModule, DiscoveryModule, LatencyAwareStrategy } from 'nestjs-etcd-discovery';
import { DiscoveryDashboardModule } from 'nestjs-etcd-discovery/dashboard';
import { LoopbackOnlyGuard } from './loopback-only.guard.js';
import { MetricsController } from './metrics.controller.js';
import { PortalController } from './portal.controller.js';

@Module({
  imports: [
    ConfigModule.forRoot(),
    // Its log lines go to the log-service instance that answers fastest (the others: round robin).
    DiscoveryModule.forRootAsync({
      imports: [ConfigModule],
      inject: [ConfigService],
      useFactory: (config: ConfigService) => ({
        requires: ['grading-service'],
        strategies: { 'log-service': LatencyAwareStrategy },
        zone: config.get<string>('ZONE'),
      }),
    }),
    // One client for every service: each message goes to a service whose instances handle its pattern.
    DiscoveryClientsModule.register([{ name: 'BUS', byPattern: true }]),
    // The fleet, live, at /discovery (JSON at /discovery/api) — for requests from this machine only.
    DiscoveryDashboardModule.forRoot({ path: '/discovery', guard: LoopbackOnlyGuard }),
  ],
  controllers: [PortalController, MetricsController],
})
export class PortalModule {}
