import { Controller } from '@nestjs/common';
import { MessagePattern, Payload, RpcException } from '@nestjs/microservices';
import { Discoverable, ServiceRegistry } from 'nestjs-etcd-discovery';
import { LogStore } from './log-store.js';

/** What log-service answers: which instance stored the line, and how many it has stored. */
export interface LogReceipt {
  instance: string;
  stored: number;
}

@Discoverable('log-service', { metadata: { stores: 'log lines' } })
@Controller()
export class LogController {
  constructor(
    private readonly store: LogStore,
    private readonly registry: ServiceRegistry,
  ) {}

  @MessagePattern('log.append')
  async append(@Payload() entry: { line?: unknown }): Promise<LogReceipt> {
    if (typeof entry?.line !== 'string' || entry.line.length === 0) {
      throw new RpcException('log.append takes { line: string }');
    }
    return { instance: this.instanceId(), stored: await this.store.append(entry.line) };
  }

  private instanceId(): string {
    return this.registry.registrations().find((registration) => registration.service === 'log-service')?.id ?? 'unregistered';
  }
}
