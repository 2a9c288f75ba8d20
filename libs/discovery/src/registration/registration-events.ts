import type { LoggerService } from '@nestjs/common';
import { formatDuration } from '../util/format-duration.js';
import type { EndpointStatus, ServiceEndpoint } from '../service-endpoint.interface.js';

/** What happens to this process' registrations, in order; `ServiceRegistry.events$` emits them. */
export type RegistrationEvent =
  | { type: 'registered'; endpoint: ServiceEndpoint; key: string; leaseId: string }
  | { type: 're-registered'; endpoint: ServiceEndpoint; key: string; leaseId: string }
  | { type: 'lease-lost'; leaseId: string; reason: string }
  | { type: 'key-lost'; key: string; reason: string }
  /** An attempt failed; `error` says why in words (`etcd at 10.0.0.2:2379 is unreachable: connection refused`). */
  | { type: 'retrying'; attempt: number; delayMs: number; error: string }
  | { type: 'deregistered'; endpoint: ServiceEndpoint; key: string }
  /** The key was written again in place with a new status (`ServiceRegistry.setStatus()`, or draining at shutdown). */
  | { type: 'status'; endpoint: ServiceEndpoint; key: string; status: EndpointStatus };

/** One log line per event: failures once per backoff step, never with credentials. */
export function logRegistrationEvent(logger: LoggerService, event: RegistrationEvent): void {
  switch (event.type) {
    case 'registered':
      logger.log(`Registered ${event.key} → ${event.endpoint.address} (lease ${event.leaseId})`);
      return;
    case 're-registered':
      logger.log(`Re-registered ${event.key} → ${event.endpoint.address} (lease ${event.leaseId})`);
      return;
    case 'lease-lost':
      logger.warn(`Lease ${event.leaseId} lost: ${event.reason}; registering again`);
      return;
    case 'key-lost':
      logger.warn(`${event.key}: ${event.reason}; putting it back`);
      return;
    case 'retrying':
      logger.warn(`Registration: ${event.error}; retry ${event.attempt} in ${formatDuration(event.delayMs)}`);
      return;
    case 'deregistered':
      logger.log(`Deregistered ${event.key}`);
      return;
    case 'status':
      logger.log(`${event.key} is ${event.status}`);
      return;
  }
}
