import { EtcdServer, numberedEndpoint as endpoint, putEndpoint, waitFor } from '@repo/testing';
import { circuitBreaker, ConsecutiveBreaker, ExponentialBackoff, handleWhen } from 'cockatiel';
import { Etcd3, isRecoverableError } from 'etcd3';
import { DiscoveryClient, ServiceRegistry, type DiscoveryModuleOptions } from 'nestjs-etcd-discovery';
import { context, now, quick } from './harness.js';
import { median, record } from './report.js';

/** How soon the registry and a watcher are back after etcd returns, next to etcd3's own fault handling. */
export async function benchRecovery(): Promise<void> {
  console.log(
    `\nRecovery: etcd down until the lease is given up (TTL 3 s) and ${quick ? 1 : 5} s more, then back; next to etcd3's default fault handling`,
  );
  const ttl = 3;
  const etcd3Defaults = {
    host: () =>
      circuitBreaker(handleWhen(isRecoverableError), { halfOpenAfter: 5000, breaker: new ConsecutiveBreaker(3) }),
    watchBackoff: new ExponentialBackoff() as never,
  };
  const results: Record<string, { registered: number[]; converged: number[] }> = {};
  for (const [label, faultHandling] of [
    ['library defaults', undefined],
    ['etcd3 defaults (baseline)', etcd3Defaults],
  ] as const) {
    results[label] = { registered: [], converged: [] };
    for (let run = 0; run < (quick ? 1 : 3); run += 1) {
      const etcd = await EtcdServer.start();
      const options: DiscoveryModuleOptions = {
        etcd: { hosts: [etcd.host], ...(faultHandling ? { faultHandling } : {}) },
        ttl,
        requires: ['watched'],
      };
      const app = await context(options);
      await app.get(ServiceRegistry).register({ service: 'recovering', host: '127.0.0.1', port: 4000 });
      await etcd.stop();
      await waitFor(
        'the registry to give up the lease',
        () => app.get(ServiceRegistry).registrations()[0]?.state === 'pending',
        { timeoutMs: (ttl + 5) * 1000 },
      );
      // Down a while longer: backoffs and open circuits are what separate the two configurations.
      await new Promise((resolve) => setTimeout(resolve, quick ? 1000 : 5000));
      await etcd.restart();
      const backAt = now();
      const client = new Etcd3({ hosts: [etcd.host] });
      await putEndpoint(client, endpoint('watched', 1));
      let registeredAt = 0;
      let convergedAt = 0;
      const registry = app.get(ServiceRegistry);
      await waitFor(
        'registered and converged',
        async () => {
          // The registry's own view: the key itself may never have left (etcd extends leases on restart).
          if (!registeredAt && registry.registrations()[0]?.state === 'registered') registeredAt = now();
          if (!convergedAt && app.get(DiscoveryClient).getEndpoints('watched').length === 1) convergedAt = now();
          return registeredAt > 0 && convergedAt > 0;
        },
        { timeoutMs: 60_000, intervalMs: 20 },
      );
      results[label].registered.push(registeredAt - backAt);
      results[label].converged.push(convergedAt - backAt);
      client.close();
      await app.close();
      await etcd.destroy();
    }
  }
  const ours = results['library defaults'];
  const theirs = results['etcd3 defaults (baseline)'];
  for (const [what, key] of [
    ['the registry has re-registered', 'registered'],
    ['the watcher has a change made after the return', 'converged'],
  ] as const) {
    const value = median(ours[key]);
    const baseline = median(theirs[key]);
    record({
      section: 'recovery',
      name: `etcd back → ${what}`,
      value,
      unit: 'ms',
      baseline: { name: 'with etcd3 defaults', value: baseline },
      ratio: baseline / Math.max(value, 1),
    });
  }
}
