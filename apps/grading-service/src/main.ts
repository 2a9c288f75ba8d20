import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import type { AddressInfo } from 'node:net';
import { GradingModule } from './grading.module.js';

// An HTTP app that grades scores and logs each grade through log-service.
const app = await NestFactory.create(GradingModule);
app.enableShutdownHooks();
await app.listen(Number(process.env.PORT ?? 0), process.env.HOST ?? '127.0.0.1');
const { address, port } = app.getHttpServer().address() as AddressInfo;
console.log(`grading-service listening on http://${address}:${port}`);
