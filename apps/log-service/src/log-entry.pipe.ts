import { Injectable, type PipeTransform } from '@nestjs/common';
import { RpcException } from '@nestjs/microservices';

/** What `log.append` takes. */
export interface LogEntry {
  line: string;
}

/** Checks a `log.append` payload before the handler sees it: the caller gets an RpcException that says what is expected. */
@Injectable()
export class LogEntryPipe implements PipeTransform<unknown, LogEntry> {
  transform(payload: unknown): LogEntry {
    const line = (payload as { line?: unknown } | undefined)?.line;
    if (typeof line !== 'string' || line.length === 0) throw new RpcException('log.append takes { line: string }');
    return { line };
  }
}
