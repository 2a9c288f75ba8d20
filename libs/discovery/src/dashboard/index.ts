/**
 * nestjs-etcd-discovery/dashboard: a live page of the fleet, mounted in the app that imports its module,
 * and the call counts it shows (also `discovery.callCounts`).
 */
export { DiscoveryDashboardModule, type DiscoveryDashboardOptions } from './discovery-dashboard.module.js';
export type {
  DashboardCalls,
  DashboardChange,
  DashboardInstance,
  DashboardPolicy,
  DashboardService,
  DashboardSnapshot,
} from './dashboard-snapshot.interface.js';
export type { CallCountsView, InstanceCalls, LastMinute } from '../calls/call-counts.js';
