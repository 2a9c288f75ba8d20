import type { ServiceEndpoint } from '../service-endpoint.interface.js';

/** What `ServiceRegistry.register()` takes: one instance of a service at a known address. */
export interface ServiceRegistration {
  service: string;
  host: string;
  port: number;
  /** @default `host:port` */
  id?: string;
  /** @default {} */
  metadata?: Record<string, string>;
  /** @default 1 */
  weight?: number;
  version?: string;
  zone?: string;
  /** Message patterns this instance answers, as `send()` names them (stored as `Metadata.patterns`). @default [] */
  patterns?: readonly string[];
  /** Event patterns it takes (`Metadata.events`). @default [] */
  events?: readonly string[];
}

/** One registration of this process and whether it is in etcd right now. */
export interface RegistrationState {
  service: string;
  id: string;
  key: string;
  endpoint: ServiceEndpoint;
  /** `pending` until the key is written, and again while it is being put back after a loss. */
  state: 'pending' | 'registered';
}
