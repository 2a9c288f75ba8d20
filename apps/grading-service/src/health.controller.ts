import { Controller, Get } from '@nestjs/common';
import { HealthCheck, HealthCheckService } from '@nestjs/terminus';
import { DiscoveryHealthIndicator } from 'nestjs-etcd-discovery/terminus';

/** `GET /health`: down (503) while this app is not registered in etcd or cannot read log-service's list. */
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly discovery: DiscoveryHealthIndicator,
  ) {}

  @Get()
  @HealthCheck()
  check() {
    return this.health.check([() => this.discovery.isHealthy('discovery')]);
  }
}
