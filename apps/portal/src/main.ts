import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import type { AddressInfo } from 'node:net';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { PortalModule } from './portal.module.js';
import { prometheus } from './telemetry.js';

// An HTTP app that discovers log-service and grading-service: GET /discovery (the live dashboard,
// JSON at /discovery/api), GET /metrics (Prometheus text), POST /grade (→ grading-service),
// POST /log (→ whoever handles log.append).
const app = await NestFactory.create(PortalModule);
app.enableShutdownHooks();
app
  .getHttpAdapter()
  .get('/metrics', (request: IncomingMessage, response: ServerResponse) =>
    prometheus.getMetricsRequestHandler(request, response),
  );
await app.listen(Number(process.env.PORT ?? 0), process.env.HOST ?? '127.0.0.1');
const { address, port } = app.getHttpServer().address() as AddressInfo;
console.log(`portal listening on http://${address}:${port}`);
