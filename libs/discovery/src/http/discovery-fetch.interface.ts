import type { RequestInit } from 'undici';
import type { CallOptions } from '../calls/call-options.interface.js';
import type { InstanceTls } from './instance-pools.js';

/** `DiscoveryClient.fetch()`'s second argument: fetch's own, and how the call through discovery behaves. */
export interface DiscoveryFetchInit extends RequestInit, Omit<CallOptions, 'idempotent'> {
  /**
   * Retry and hedge this request. By default true for GET, HEAD, OPTIONS, PUT and DELETE, which HTTP
   * defines as idempotent; any other request is tried again elsewhere only when it never reached its
   * instance (connection refused).
   */
  idempotent?: boolean;
  /** Statuses of an idempotent request's answer that are tried again on another instance. @default [502, 503, 504] */
  retryOn?: readonly number[];
  /** TLS (https:// URLs): the CA, a client certificate, the server name (by default the service's name). */
  tls?: InstanceTls;
}
