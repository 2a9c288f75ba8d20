/**
 * Old names, kept for one minor version so that an upgrade breaks nothing (see CHANGELOG.md): each is
 * the same thing as its new name, and is marked deprecated so that editors say what to use instead.
 */
import { decodeEndpoint as decode, encodeEndpoint as encode } from './codec/endpoint-codec.js';
import type { DecodeResult as Decoded, StoredEndpointValue as Stored } from './codec/endpoint-codec.js';
import { endpointKey as keyOf, servicePrefix as prefixOf } from './codec/endpoint-key.js';
import type * as counts from './calls/call-counts.js';
import type * as snapshot from './dashboard/dashboard-snapshot.interface.js';
import type * as dashboard from './dashboard/discovery-dashboard.module.js';
import { DiscoveryDashboardModule as Dashboard } from './dashboard/discovery-dashboard.module.js';
import type { BackoffOptions } from './options/backoff-options.interface.js';
import type { CallPolicy, DiscoveryCallsOptions } from './options/calls-options.interface.js';

/** @deprecated Renamed `BackoffOptions` (the `backoff` option, formerly `retry`). */
export type RetryOptions = BackoffOptions;
/** @deprecated Renamed `DiscoveryCallsOptions`. */
export type CallsOptions = DiscoveryCallsOptions;
/** @deprecated Renamed `CallPolicy`. */
export type CallPolicyOptions = CallPolicy;

/** @deprecated Import it from 'nestjs-etcd-discovery/dashboard'. */
export const DiscoveryDashboardModule = Dashboard;
/** @deprecated Import it from 'nestjs-etcd-discovery/dashboard'. */
export type DiscoveryDashboardModule = Dashboard;
/** @deprecated Import it from 'nestjs-etcd-discovery/dashboard'. */
export type DiscoveryDashboardOptions = dashboard.DiscoveryDashboardOptions;
/** @deprecated Import it from 'nestjs-etcd-discovery/dashboard'. */
export type DashboardSnapshot = snapshot.DashboardSnapshot;
/** @deprecated Import it from 'nestjs-etcd-discovery/dashboard'. */
export type DashboardService = snapshot.DashboardService;
/** @deprecated Import it from 'nestjs-etcd-discovery/dashboard'. */
export type DashboardInstance = snapshot.DashboardInstance;
/** @deprecated Import it from 'nestjs-etcd-discovery/dashboard'. */
export type DashboardCalls = snapshot.DashboardCalls;
/** @deprecated Import it from 'nestjs-etcd-discovery/dashboard'. */
export type DashboardChange = snapshot.DashboardChange;
/** @deprecated Import it from 'nestjs-etcd-discovery/dashboard'. */
export type CallCountsView = counts.CallCountsView;
/** @deprecated Import it from 'nestjs-etcd-discovery/dashboard'. */
export type InstanceCalls = counts.InstanceCalls;
/** @deprecated Import it from 'nestjs-etcd-discovery/dashboard'. */
export type LastMinute = counts.LastMinute;

/** @deprecated Import it from 'nestjs-etcd-discovery/codec'. */
export const encodeEndpoint = encode;
/** @deprecated Import it from 'nestjs-etcd-discovery/codec'. */
export const decodeEndpoint = decode;
/** @deprecated Import it from 'nestjs-etcd-discovery/codec'. */
export const endpointKey = keyOf;
/** @deprecated Import it from 'nestjs-etcd-discovery/codec'. */
export const servicePrefix = prefixOf;
/** @deprecated Import it from 'nestjs-etcd-discovery/codec'. */
export type DecodeResult = Decoded;
/** @deprecated Import it from 'nestjs-etcd-discovery/codec'. */
export type StoredEndpointValue = Stored;
