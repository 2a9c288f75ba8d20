import { BadRequestException, Body, Controller, Get, Inject, Post } from '@nestjs/common';
import type { ClientProxy } from '@nestjs/microservices';
import { Discoverable } from 'nestjs-etcd-discovery';
import { firstValueFrom } from 'rxjs';

interface LogReceipt {
  instance: string;
  stored: number;
}

export interface GradeResult {
  student: string;
  score: number;
  grade: string;
  /** The log-service instance that stored the grade's log line. */
  loggedBy: string;
}

@Discoverable('grading-service', { requires: ['log-service'] })
@Controller()
export class GradesController {
  constructor(@Inject('LOG_SERVICE') private readonly logs: ClientProxy) {}

  @Post('grades')
  async grade(@Body() body: { student?: unknown; score?: unknown }): Promise<GradeResult> {
    const { student, score } = body ?? {};
    if (typeof student !== 'string' || typeof score !== 'number' || score < 0 || score > 100) {
      throw new BadRequestException('POST /grades takes { student: string, score: 0..100 }');
    }
    const grade = score >= 90 ? 'A' : score >= 80 ? 'B' : score >= 70 ? 'C' : score >= 60 ? 'D' : 'F';
    // Goes to a live log-service instance, picked by the strategy; another one if it is gone.
    const receipt = await firstValueFrom(this.logs.send<LogReceipt>('log.append', { line: `${student} ${score} ${grade}` }));
    return { student, score, grade, loggedBy: receipt.instance };
  }

  @Get('health')
  health() {
    return { status: 'ok' };
  }
}
