import { Module } from '@nestjs/common';
import { DiscoveryClientsModule, DiscoveryModule } from 'nestjs-etcd-discovery';
import { PortalController } from './portal.controller.js';
import { ServiceDirectory } from './service-directory.js';

@Module({
  imports: [
    DiscoveryModule.forRoot({ requires: ['grading-service'] }),
    DiscoveryClientsModule.register([{ name: 'LOG_SERVICE', service: 'log-service' }]),
  ],
  controllers: [PortalController],
  providers: [ServiceDirectory],
})
export class PortalModule {}
