import 'reflect-metadata';
import * as constants from '@nestjs/microservices/constants.js';
import { Transport } from '@nestjs/microservices';
import { PatternHandler } from '@nestjs/microservices/enums/pattern-handler.enum.js';
import {
  EVENT_HANDLER,
  GRPC_TRANSPORT,
  PATTERN_HANDLER_METADATA,
  PATTERN_METADATA,
  TCP_TRANSPORT,
  TRANSPORT_METADATA,
  TRANSPORT_NAMES,
} from './nest-microservices.js';

// The copies are what the installed @nestjs/microservices says: a Nest release that changes one fails here.
describe('the values of @nestjs/microservices the library reads without it', () => {
  it('are the metadata keys its decorators write', () => {
    expect(PATTERN_METADATA).toBe(constants.PATTERN_METADATA);
    expect(PATTERN_HANDLER_METADATA).toBe(constants.PATTERN_HANDLER_METADATA);
    expect(TRANSPORT_METADATA).toBe(constants.TRANSPORT_METADATA);
    expect(EVENT_HANDLER).toBe(PatternHandler.EVENT);
  });

  it('are its Transport enum', () => {
    expect(TCP_TRANSPORT).toBe(Transport.TCP);
    expect(GRPC_TRANSPORT).toBe(Transport.GRPC);
    const names = Object.keys(Transport).filter((key) => Number.isNaN(Number(key)));
    expect(Object.fromEntries(TRANSPORT_NAMES.map((name, value) => [name, value]))).toEqual(
      Object.fromEntries(names.map((name) => [name, Transport[name as keyof typeof Transport]])),
    );
  });
});
