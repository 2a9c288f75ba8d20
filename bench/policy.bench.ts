import type { EtcdServer } from '@repo/testing';
import { numberedEndpoint, repoRoot, waitFor } from '@repo/testing';
import type { Etcd3 } from 'etcd3';
import { DiscoveryClient } from 'nestjs-etcd-discovery';
import { encodeEndpoint, endpointKey } from 'nestjs-etcd-discovery/codec';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { context, now, quick, seed } from './harness.js';
import { format, percentile, record } from './report.js';

/** The app's traffic policies (an internal provider: the bench listens to when a document was applied). */
async function trafficPoliciesClass() {
  const file = pathToFileURL(join(repoRoot(), 'libs/discovery/dist/policy/traffic-policies.js')).href;
  return ((await import(file)) as typeof import('../libs/discovery/dist/policy/traffic-policies.js')).TrafficPolicies;
}

/**
 * A policy change against an endpoint change, paired in one process and one run: one caller app holds the service's
 * watch and the policy watch; changes alternate between a new endpoint (or its removal) and a new policy document (a
 * drain of one instance, its reason changed each time). An endpoint change is seen when endpoints$ emits; a policy
 * change when the app has applied it and the next pick() has the new view (at 10,000 endpoints the view is rebuilt).
 */
export async function benchPolicy(etcd: EtcdServer, client: Etcd3): Promise<void> {
  const sizes = [100, 10_000];
  const changes = quick ? 40 : 200;
  console.log(
    `\nPolicy propagation: ${changes} endpoint changes and ${changes} policy changes, alternated, at ` +
      `${sizes.map(format).join(' / ')} endpoints, seen by one caller app`,
  );
  const TrafficPolicies = await trafficPoliciesClass();
  for (const size of sizes) {
    const service = `policy-${size}`;
    await seed(client, [service], size);
    const app = await context({ etcd: { hosts: [etcd.host] }, requires: [service] });
    const discovery = app.get(DiscoveryClient);
    let listSeenAt = 0;
    let policySeenAt = 0;
    const subscription = discovery.endpoints$(service).subscribe(() => (listSeenAt = now()));
    const stopListening = app.get(TrafficPolicies).read.add(() => {
      discovery.pick(service); // the view with the new drain is made by the first pick: part of applying it
      policySeenAt = now();
    });
    const endpointDelays: number[] = [];
    const policyDelays: number[] = [];
    const until = new Date(Date.now() + 3600_000).toISOString();
    for (let index = 0; index < changes * 2; index += 1) {
      const policyTurn = index % 2 === 1;
      const startedAt = now();
      if (policyTurn) {
        const document = {
          instances: { [numberedEndpoint(service, 1).id]: { drained: true, until, reason: `r${index}` } },
        };
        await client.put(`/services.policy/${service}`).value(JSON.stringify(document));
        await waitFor('the policy applied', () => policySeenAt > startedAt, { timeoutMs: 10_000, intervalMs: 1 });
        policyDelays.push(policySeenAt - startedAt);
      } else {
        // Alternately a new endpoint, and its removal: the size stays put.
        const adding = (index / 2) % 2 === 0;
        const endpoint = numberedEndpoint(service, size);
        const key = endpointKey('/services', service, endpoint.id);
        await (adding ? client.put(key).value(encodeEndpoint(endpoint)) : client.delete().key(key));
        await waitFor('the endpoint change seen', () => listSeenAt > startedAt, { timeoutMs: 10_000, intervalMs: 1 });
        endpointDelays.push(listSeenAt - startedAt);
      }
    }
    stopListening();
    subscription.unsubscribe();
    await app.close();
    await client.delete().key(`/services.policy/${service}`);
    const label = `${format(size)} endpoints`;
    for (const p of [50, 99]) {
      const policy = percentile(policyDelays, p);
      const endpoint = percentile(endpointDelays, p);
      record({
        section: 'policy',
        name: `${label}: a policy change applied, p${p} after the write`,
        value: policy,
        unit: 'ms',
        baseline: { name: `an endpoint change seen, p${p}`, value: endpoint },
        target: '≤ endpoint change + 1 ms',
        met: policy <= endpoint + 1,
      });
    }
  }
}
