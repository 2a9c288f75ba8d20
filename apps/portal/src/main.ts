import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import type { AddressInfo } from 'node:net';
import { PortalModule } from './portal.module.js';

// An HTTP app that discovers log-service and grading-service: GET /discovery (the live dashboard,
// JSON at /discovery/api), POST /grade (→ grading-service), POST /log (→ whoever handles log.append).
const app = await NestFactory.create(PortalModule);
app.enableShutdownHooks();
await app.listen(Number(process.env.PORT ?? 0), process.env.HOST ?? '127.0.0.1');
const { address, port } = app.getHttpServer().address() as AddressInfo;
console.log(`portal listening on http://${address}:${port}`);
