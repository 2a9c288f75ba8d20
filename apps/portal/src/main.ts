import 'reflect-metadata';
import './telemetry.js'; // OpenTelemetry before the app: the library takes its meter when its providers are made
import { NestFactory } from '@nestjs/core';
import type { AddressInfo } from 'node:net';
import { PortalModule } from './portal.module.js';

// An HTTP app that discovers log-service and grading-service: GET /discovery (the live dashboard,
// JSON at /discovery/api) and GET /metrics (Prometheus text), both for requests from this machine
// only; POST /grade (→ grading-service), POST /log (→ whoever handles log.append).
const app = await NestFactory.create(PortalModule);
app.enableShutdownHooks();
await app.listen(Number(process.env.PORT ?? 0), process.env.HOST ?? '127.0.0.1');
const { address, port } = app.getHttpServer().address() as AddressInfo;
console.log(`portal listening on http://${address}:${port}`);
