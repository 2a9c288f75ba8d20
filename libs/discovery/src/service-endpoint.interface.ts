/**
 * One live instance of a service, as discovery returns it and as registration stores it.
 * The layout is the public contract of the library (see DESIGN.md).
 */
export interface ServiceEndpoint {
  /** Service name, the key segment after the namespace (`log-service`). */
  service: string;
  /** Instance id, unique within the service; `host:port` unless set otherwise. */
  id: string;
  host: string;
  port: number;
  /** `host:port` (IPv6 hosts in brackets: `[::1]:3000`). */
  address: string;
  /** Free-form string metadata given at registration. */
  metadata: Record<string, string>;
  /** Relative weight for weighted strategies; 0 means "never pick". */
  weight: number;
  version?: string;
  zone?: string;
  /**
   * `'up'` when absent. Only `'up'` endpoints are picked; all are listed. An instance turns
   * `'draining'` at shutdown (with `drainMs`) and can be set `'down'` with `ServiceRegistry.setStatus()`.
   */
  status?: EndpointStatus;
  /**
   * The message patterns its `@MessagePattern()` handlers answer, in Nest's normalised form
   * (`'log.append'`, `'{"cmd":"sum"}'`); stored as `Metadata.patterns`. Absent: none published.
   */
  patterns?: readonly string[];
  /** The event patterns its `@EventPattern()` handlers take, likewise; stored as `Metadata.events`. */
  events?: readonly string[];
  /**
   * When the instance wrote its key under its current lease (ms since the epoch, its own clock):
   * the lease's age. Stored as `Metadata.registeredAt`; absent for values written by others.
   */
  registeredAt?: number;
}

/** Whether an endpoint takes calls: stored as `Metadata.status`, absent meaning `'up'`. */
export type EndpointStatus = 'up' | 'draining' | 'down';

/** `'up'` unless the endpoint says otherwise. */
export function isUp(endpoint: ServiceEndpoint): boolean {
  return endpoint.status === undefined || endpoint.status === 'up';
}
