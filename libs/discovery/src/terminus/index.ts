/**
 * nestjs-etcd-discovery/terminus: a `@nestjs/terminus` health indicator for discovery. Loaded only
 * from this subpath, so that apps without `@nestjs/terminus` never load it.
 */
export { DiscoveryHealthIndicator } from './discovery-health.indicator.js';
export type { DiscoveryStatusReport } from '../discovery-status.js';
