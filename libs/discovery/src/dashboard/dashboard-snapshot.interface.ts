import type { PolicyCalls } from '../policy/traffic-policy.interface.js';
import type { EndpointStatus } from '../service-endpoint.interface.js';

/** What `GET <path>/api` answers and each server-sent event of `<path>/events` carries. */
export interface DashboardSnapshot {
  namespace: string;
  /** When the snapshot was made (ms since the epoch, this app's clock). */
  at: number;
  services: DashboardService[];
  /** This app's own registrations: `pending` until its key is written, and again while it is put back after a loss. */
  registrations: { service: string; id: string; address: string; state: 'pending' | 'registered' }[];
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
  /** Its traffic policy as this app has it; absent when it has none. */
  policy?: DashboardPolicy;
}

/** A service's traffic policy as this app has it (see the README's "Traffic policy"). */
export interface DashboardPolicy {
  /** The etcd revision this app read it at. */
  revision?: number;
  /** The share of calls per version. */
  split?: Record<string, number>;
  /** Call settings over the app's own. */
  calls?: PolicyCalls;
  /** The instances drained now, until when and why. */
  drained: { id: string; until: string; reason?: string }[];
  /** Weights that replace registered ones now, by instance id. */
  weights: Record<string, number>;
  /** The stored document this app rejected (the last good one, above, stays in force): its revision and problem. */
  rejected?: { revision: number; problem: string };
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
  /** This app's calls to it, through `call()`, `fetch()` and its client proxies; absent when it never called it. */
  calls?: DashboardCalls;
  /** Not picked by this app until then (ms since the epoch): ejected for failing calls, or holding out after a 503. */
  ejectedUntil?: number;
  /** Drained by the service's traffic policy: no new call from any app. */
  drained?: true;
  /** Gone from etcd, but kept listed by this app's self-preservation (most of the service vanished at once). */
  held?: true;
}

/** This app's calls to one instance: totals since the app started, and the last minute. */
export interface DashboardCalls {
  /** Attempts started (each retry and hedge counts). */
  calls: number;
  /** Attempts that could not reach it. */
  unreachable: number;
  /** Answers that were errors (the handler's, an HTTP 502/503/504). */
  errors: number;
  /** Attempts that got no answer in time. */
  timedOut: number;
  inFlight: number;
  lastMinute: {
    /** Attempts that ended in the last minute. */
    calls: number;
    /** Errors and unreachable attempts, ÷ calls (0–1). */
    errorRate: number;
    /** Timed-out attempts ÷ calls (0–1). */
    timeoutRate: number;
    /** Response times in ms (silences waited out count as their wait); absent with no answer. */
    p50Ms?: number;
    p99Ms?: number;
  };
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
