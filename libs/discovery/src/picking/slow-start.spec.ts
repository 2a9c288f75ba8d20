import { testEndpoint } from '@repo/testing';
import { Subject } from 'rxjs';
import type { EndpointChange } from '../watch/endpoint-change.interface.js';
import { SlowStart } from './slow-start.js';

describe('SlowStart', () => {
  it("a joining endpoint's picks stand a tenth of the time at first, more as it warms up, always once warm", () => {
    const clock = { now: 0 };
    const changes = new Subject<EndpointChange>();
    let draw = 0;
    // Draws spread evenly over [0, 1): the share accepted is the probability itself.
    const slowStart = new SlowStart(
      10_000,
      changes,
      () => clock.now,
      () => (draw++ % 100) / 100,
    );
    const joining = testEndpoint('svc', 'new', 2);
    const warm = testEndpoint('svc', 'old', 1);
    expect(slowStart.none).toBe(true);
    changes.next({ type: 'added', endpoint: joining, revision: 2 });
    expect(slowStart.none).toBe(false);
    const share = () => Array.from({ length: 100 }, () => slowStart.accepts(joining)).filter(Boolean).length;
    expect(share()).toBe(10);
    clock.now = 5000;
    expect(share()).toBe(55); // 0.1 + 0.9 × 0.5
    expect(slowStart.accepts(warm)).toBe(true);
    clock.now = 10_000;
    expect(share()).toBe(100);
    expect(slowStart.none).toBe(true);
  });
});
