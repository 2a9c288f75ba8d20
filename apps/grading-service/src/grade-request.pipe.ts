import { BadRequestException, Injectable, type PipeTransform } from '@nestjs/common';

/** What `POST /grades` takes. */
export interface GradeRequest {
  student: string;
  /** 0 to 100. */
  score: number;
}

/** Checks a `POST /grades` body before the handler sees it: a 400 that says what is expected, else the body as a GradeRequest. */
@Injectable()
export class GradeRequestPipe implements PipeTransform<unknown, GradeRequest> {
  transform(body: unknown): GradeRequest {
    const { student, score } = (body ?? {}) as Partial<Record<keyof GradeRequest, unknown>>;
    if (
      typeof student !== 'string' ||
      student.length === 0 ||
      typeof score !== 'number' ||
      !(score >= 0 && score <= 100)
    ) {
      throw new BadRequestException('POST /grades takes { student: string, score: 0..100 }');
    }
    return { student, score };
  }
}
