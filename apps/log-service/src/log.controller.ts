import { Controller } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import { Discoverable, ServiceRegistry } from 'nestjs-etcd-discovery';
import { LogEntryPipe, type LogEntry } from './log-entry.pipe.js';
import { LogStore } from './log-store.js';

/** What log-service answers: which instance stored the line, and how many it has stored. */
export interface LogReceipt {
  instance: string;
  stored: number;
}

// VERSION (optional) lets a traffic policy split calls by version: the demo runs a 2.0 canary beside two 1.0s.
@Discoverable('log-service', { version: process.env.VERSION, metadata: { stores: 'log lines' } })
@Controller()
export class LogController {
  constructor(
    private readonly store: LogStore,
    private readonly registry: ServiceRegistry,
  ) {}

  @MessagePattern('log.append')
  async append(@Payload(LogEntryPipe) { line }: LogEntry): Promise<LogReceipt> {
    return { instance: this.instanceId(), stored: await this.store.append(line) };
  }

  private instanceId(): string {
    return (
      this.registry.registrations().find((registration) => registration.service === 'log-service')?.id ?? 'unregistered'
    );
  }
}
