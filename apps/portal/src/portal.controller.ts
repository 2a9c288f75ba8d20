import {
  BadGatewayException,
  BadRequestException,
  Body,
  Controller,
  Get,
  Inject,
  Post,
  Redirect,
} from '@nestjs/common';
import type { ClientProxy } from '@nestjs/microservices';
import { DiscoveryClient, InjectDiscovery } from 'nestjs-etcd-discovery';
import { firstValueFrom } from 'rxjs';

@Controller()
export class PortalController {
  constructor(
    @InjectDiscovery() private readonly discovery: DiscoveryClient,
    @Inject('BUS') private readonly bus: ClientProxy,
  ) {}

  /** The discovery dashboard (DiscoveryDashboardModule). */
  @Get()
  @Redirect('discovery')
  home(): void {}

  /**
   * Forwards to a grading-service instance over HTTP, by the service's name: `discovery.fetch()`
   * picks an instance, and tries another one if the request never reached it (a POST is not retried
   * once it reached an instance; a GET would be, and hedged).
   */
  @Post('grade')
  async grade(@Body() body: unknown): Promise<unknown> {
    const response = await this.discovery
      .fetch('http://grading-service/grades', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body ?? {}),
      })
      .catch((error: Error) => {
        throw new BadGatewayException(`no grading-service instance answered: ${error.message}`);
      });
    return response.json();
  }

  /**
   * Sends `log.append` over TCP to an instance that handles it, found by its pattern
   * (DiscoveryClientsModule, `byPattern`): the portal does not name log-service.
   */
  @Post('log')
  async log(@Body() body: { line?: string }): Promise<unknown> {
    try {
      return await firstValueFrom(this.bus.send('log.append', { line: body?.line }));
    } catch (error) {
      // An error raised by log-service's handler arrives as { status: 'error', message }.
      const message = (error as { message?: unknown })?.message;
      if (error instanceof Error || typeof message !== 'string') throw error;
      throw new BadRequestException(message);
    }
  }
}
