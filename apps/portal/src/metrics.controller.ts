import { Controller, Get, Req, Res, UseGuards } from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { LoopbackOnlyGuard } from './loopback-only.guard.js';
import { prometheus } from './telemetry.js';

/**
 * GET /metrics: the Prometheus text of the app's OpenTelemetry metrics. Behind the dashboard's guard:
 * with `metrics.perInstance` on, the series name every instance called, as the dashboard does.
 */
@Controller('metrics')
@UseGuards(LoopbackOnlyGuard)
export class MetricsController {
  @Get()
  read(@Req() request: IncomingMessage, @Res() response: ServerResponse): void {
    prometheus.getMetricsRequestHandler(request, response);
  }
}
