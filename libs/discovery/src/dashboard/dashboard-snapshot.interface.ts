import type { EndpointStatus } from '../service-endpoint.interface.js';

/** What `GET <path>/api` answers and each server-sent event of `<path>/events` carries. */
export interface DashboardSnapshot {
  namespace: string;
  /** When the snapshot was made (ms since the epoch, this app's clock). */
  at: number;
  services: DashboardService[];
  /** The last changes this app saw, newest first (at most 100). */
  timeline: DashboardChange[];
}

export interface DashboardService {
  service: string;
  /** False while its instances disagree on what they handle (a rolling deploy). */
  consistent: boolean;
  /** Each pattern and event, with how many of the instances handle it. */
  patterns: { pattern: string; instances: number }[];
  events: { pattern: string; instances: number }[];
  instances: DashboardInstance[];
}

export interface DashboardInstance {
  id: string;
  address: string;
  zone?: string;
  version?: string;
  status: EndpointStatus;
  weight: number;
  /** When it wrote its key under its current lease (absent for instances that do not say, e.g. Go services). */
  registeredAt?: number;
  /**
   * The patterns and events of its service that this instance does not handle (a rolling deploy);
   * absent when it handles them all — what it handles is the service's lists without these.
   */
  lacks?: { patterns: string[]; events: string[] };
  /** This app's calls to it, through `call()` and its client proxies; absent when it never called it. */
  calls?: { calls: number; unreachable: number; inFlight: number };
}

export interface DashboardChange {
  at: number;
  type: 'added' | 'removed' | 'updated';
  service: string;
  id: string;
  address: string;
  /** For `updated`: what changed (`status up → draining`, `patterns`, …). */
  detail?: string;
}
