import type { TrafficPolicies } from '../policy/traffic-policies.js';
import { dashboardPolicy } from './dashboard-policy.js';

describe('dashboardPolicy()', () => {
  it('shows the weight of an instance whose id is named like a field of every object ("__proto__")', () => {
    const until = new Date(Date.now() + 3600_000).toISOString();
    const document = JSON.parse(`{"instances":{"__proto__":{"weight":3,"until":"${until}"}}}`) as unknown;
    const policies = { stateOf: () => ({ document, revision: 7, rejection: undefined }) };
    const shown = dashboardPolicy(policies as unknown as TrafficPolicies, 'svc', Date.now());
    expect(Object.entries(shown!.weights)).toEqual([['__proto__', 3]]);
  });
});
