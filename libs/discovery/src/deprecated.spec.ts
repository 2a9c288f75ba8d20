import * as codec from './codec/index.js';
import * as dashboard from './dashboard/index.js';
import * as root from './index.js';

// The names that moved to /dashboard and /codec stay at the root for one minor version, as the same things.
describe('the old names at the root', () => {
  it.each(['encodeEndpoint', 'decodeEndpoint', 'endpointKey', 'servicePrefix'] as const)(
    '%s is the one of nestjs-etcd-discovery/codec',
    (name) => {
      expect(root[name]).toBe(codec[name]);
    },
  );

  it('DiscoveryDashboardModule is the one of nestjs-etcd-discovery/dashboard', () => {
    expect(root.DiscoveryDashboardModule).toBe(dashboard.DiscoveryDashboardModule);
  });
});
