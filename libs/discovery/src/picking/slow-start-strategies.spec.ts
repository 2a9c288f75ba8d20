import { Test } from '@nestjs/testing';
import { DiscoveryClient } from '../discovery/discovery-client.js';
import { LatencyAwareStrategy } from '../balancing/latency-aware.strategy.js';
import { LeastOutstandingStrategy } from '../balancing/least-outstanding.strategy.js';
import type { LoadBalancingStrategy } from '../balancing/load-balancing-strategy.js';
import { RandomStrategy } from '../balancing/random.strategy.js';
import { RoundRobinStrategy } from '../balancing/round-robin.strategy.js';
import { WeightedRoundRobinStrategy } from '../balancing/weighted-round-robin.strategy.js';
import { DiscoveryTestingModule, InMemoryRegistry } from '../testing/index.js';

/** The share of 4,000 picks that go to an instance joining three, right after it joined. */
async function joinerShare(strategy: LoadBalancingStrategy, slowStartMs: number): Promise<number> {
  const moduleRef = await Test.createTestingModule({
    imports: [
      DiscoveryTestingModule.forRoot({
        endpoints: { svc: ['127.0.0.1:1', '127.0.0.1:2', '127.0.0.1:3'] },
        strategy,
        slowStartMs,
      }),
    ],
  }).compile();
  const app = await moduleRef.init();
  try {
    const discovery = app.get(DiscoveryClient);
    discovery.pick('svc'); // this app picks from the service before the instance joins
    await app.get(InMemoryRegistry).add('svc', '127.0.0.1:4');
    await discovery.waitFor('svc', { count: 4 });
    let joiner = 0;
    for (let pick = 0; pick < 4000; pick += 1) if (discovery.pick('svc').address === '127.0.0.1:4') joiner += 1;
    return joiner / 4000;
  } finally {
    await app.close();
  }
}

describe('slow start with every strategy that spreads load', () => {
  it.each([
    ['RoundRobinStrategy', () => new RoundRobinStrategy()],
    ['RandomStrategy', () => new RandomStrategy()],
    ['WeightedRoundRobinStrategy', () => new WeightedRoundRobinStrategy()],
    ['LeastOutstandingStrategy', () => new LeastOutstandingStrategy()],
    ['LatencyAwareStrategy', () => new LatencyAwareStrategy()],
  ])(
    '%s: a joining instance gets far less than its quarter at first; without slow start, its quarter',
    async (name, make) => {
      const warming = await joinerShare(make(), 60_000);
      const cold = await joinerShare(make(), 0);
      console.log(
        `[measured] slow start, ${name}: the joiner's share ${(100 * warming).toFixed(1)} % at first, ` +
          `${(100 * cold).toFixed(1)} % without`,
      );
      expect(warming).toBeLessThan(0.125);
      expect(cold).toBeGreaterThan(0.2);
    },
  );
});
