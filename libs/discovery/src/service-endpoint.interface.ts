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
}
