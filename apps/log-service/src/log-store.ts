import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { appendFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Appends log lines to this instance's own file, in LOG_DIR (default <tmp>/nestjs-etcd-discovery-logs). */
@Injectable()
export class LogStore {
  readonly file: string;
  private stored = 0;

  constructor(config: ConfigService) {
    this.file = join(
      config.get('LOG_DIR', join(tmpdir(), 'nestjs-etcd-discovery-logs')),
      `log-service-${process.pid}.log`,
    );
  }

  async append(line: string): Promise<number> {
    await mkdir(join(this.file, '..'), { recursive: true });
    await appendFile(this.file, `${new Date().toISOString()} ${line}\n`);
    this.stored += 1;
    return this.stored;
  }
}
