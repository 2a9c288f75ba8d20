import { Logger, type LoggerService } from '@nestjs/common';

const silent: LoggerService = { log() {}, error() {}, warn() {}, debug() {}, verbose() {}, fatal() {} };

/** The library's logger for `context`: Nest's (the app's log levels apply), or none with `logger: false`. */
export function libraryLogger(context: string, options: { logger: boolean }): LoggerService {
  return options.logger ? new Logger(context) : silent;
}
