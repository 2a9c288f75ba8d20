import { Injectable } from '@nestjs/common';
import { appendFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Appends log lines to this instance's own file (LOG_DIR, default <tmp>/nestjs-etcd-discovery-logs). */
@Injectable()
export class LogStore {
  readonly file = join(process.env.LOG_DIR ?? join(tmpdir(), 'nestjs-etcd-discovery-logs'), `log-service-${process.pid}.log`);
  private stored = 0;

  async append(line: string): Promise<number> {
    await mkdir(join(this.file, '..'), { recursive: true });
    await appendFile(this.file, `${new Date().toISOString()} ${line}\n`);
    this.stored += 1;
    return this.stored;
  }
}
