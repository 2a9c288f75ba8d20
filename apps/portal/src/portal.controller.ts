import { BadGatewayException, BadRequestException, Body, Controller, Get, Header, Inject, Post, Sse, type MessageEvent } from '@nestjs/common';
import type { ClientProxy } from '@nestjs/microservices';
import { DiscoveryClient, InjectDiscovery } from 'nestjs-etcd-discovery';
import { firstValueFrom, map, type Observable } from 'rxjs';
import { portalPage } from './portal-page.js';
import { ServiceDirectory, type Directory } from './service-directory.js';

@Controller()
export class PortalController {
  constructor(
    private readonly directory: ServiceDirectory,
    @InjectDiscovery() private readonly discovery: DiscoveryClient,
    @Inject('LOG_SERVICE') private readonly logs: ClientProxy,
  ) {}

  @Get()
  @Header('Content-Type', 'text/html; charset=utf-8')
  page(): string {
    return portalPage;
  }

  /** The live instances of every service, as JSON. */
  @Get('services')
  services(): Promise<Directory> {
    return this.directory.current();
  }

  /** The same, pushed on every change (server-sent events): what the page shows. */
  @Sse('events')
  events(): Observable<MessageEvent> {
    return this.directory.snapshot$.pipe(map((directory) => ({ data: directory })));
  }

  /**
   * Forwards to a grading-service instance over HTTP: `call()` picks one, and if it cannot be
   * reached, another (reporting both for outlier ejection).
   */
  @Post('grade')
  async grade(@Body() body: unknown): Promise<unknown> {
    const response = await this.discovery
      .call('grading-service', (endpoint) =>
        fetch(`http://${endpoint.address}/grades`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body ?? {}),
        }),
      )
      .catch((error: Error) => {
        throw new BadGatewayException(`no grading-service instance answered: ${error.message}`);
      });
    return response.json();
  }

  /** Forwards to a log-service instance over TCP (DiscoveryClientsModule). */
  @Post('log')
  async log(@Body() body: { line?: string }): Promise<unknown> {
    try {
      return await firstValueFrom(this.logs.send('log.append', { line: body?.line }));
    } catch (error) {
      // An error raised by log-service's handler arrives as { status: 'error', message }.
      const message = (error as { message?: unknown })?.message;
      if (error instanceof Error || typeof message !== 'string') throw error;
      throw new BadRequestException(message);
    }
  }
}
