import { Module } from '@nestjs/common';
import { DiscoveryClientsModule, DiscoveryModule, LatencyAwareStrategy } from 'nestjs-etcd-discovery';
import { PortalController } from './portal.controller.js';
import { ServiceDirectory } from './service-directory.js';

@Module({
  imports: [
    // Its log lines go to the log-service instance that answers fastest (the others: round robin).
    DiscoveryModule.forRoot({ requires: ['grading-service'], strategies: { 'log-service': LatencyAwareStrategy }, zone: process.env.ZONE }),
    DiscoveryClientsModule.register([{ name: 'LOG_SERVICE', service: 'log-service' }]),
  ],
  controllers: [PortalController],
  providers: [ServiceDirectory],
})
export class PortalModule {}
