import { Body, Controller, Inject, Post } from '@nestjs/common';
import type { ClientProxy } from '@nestjs/microservices';
import { Discoverable } from 'nestjs-etcd-discovery';
import { firstValueFrom } from 'rxjs';
import { GradeRequestPipe, type GradeRequest } from './grade-request.pipe.js';

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

// log-service needs no `requires`: its DiscoveryClientsModule entry already has it watched from bootstrap.
@Discoverable('grading-service')
@Controller()
export class GradesController {
  constructor(@Inject('LOG_SERVICE') private readonly logs: ClientProxy) {}

  @Post('grades')
  async grade(@Body(GradeRequestPipe) { student, score }: GradeRequest): Promise<GradeResult> {
    const grade = score >= 90 ? 'A' : score >= 80 ? 'B' : score >= 70 ? 'C' : score >= 60 ? 'D' : 'F';
    // Goes to a live log-service instance, picked by the strategy; another one if it is gone.
    const receipt = await firstValueFrom(
      this.logs.send<LogReceipt>('log.append', { line: `${student} ${score} ${grade}` }),
    );
    return { student, score, grade, loggedBy: receipt.instance };
  }
}
