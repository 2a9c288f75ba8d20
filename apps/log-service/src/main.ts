import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { Transport, type MicroserviceOptions } from '@nestjs/microservices';
import type { AddressInfo } from 'node:net';
import { LogModule } from './log.module.js';

// A Nest TCP microservice that stores the log lines it receives. PORT 0 (default) takes a free port:
// discovery advertises the one it got.
const app = await NestFactory.createMicroservice<MicroserviceOptions>(LogModule, {
  transport: Transport.TCP,
  options: { host: process.env.HOST ?? '127.0.0.1', port: Number(process.env.PORT ?? 0) },
});
app.enableShutdownHooks();
await app.listen();
const { address, port } = app.unwrap<import('node:net').Server>().address() as AddressInfo;
console.log(`log-service listening on tcp://${address}:${port}`);
