import type { INestApplicationContext } from '@nestjs/common';
import type { Etcd3 } from 'etcd3';
import { type DiscoveryModuleOptions, type EndpointChange } from 'nestjs-etcd-discovery';
import { servicePrefix } from 'nestjs-etcd-discovery/codec';
import type { Subscription } from 'rxjs';
import {
  deleteEndpoint,
  EtcdCluster,
  EtcdServer,
  putEndpoint,
  startConsumer,
  testEndpoint,
  waitFor,
} from '@repo/testing';

const contexts: INestApplicationContext[] = [];
const subscriptions: Subscription[] = [];
const cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  subscriptions.splice(0).forEach((subscription) => subscription.unsubscribe());
  await Promise.all(contexts.splice(0).map((context) => context.close()));
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const retry = { initialDelayMs: 50, maxDelayMs: 500 };

async function consumer(hosts: string[], requires: string[], options: DiscoveryModuleOptions = {}) {
  const started = await startConsumer({ etcd: { hosts }, requires, retry, ...options });
  contexts.push(started.app);
  return started.discovery;
}

/** Puts an endpoint whose port is derived from the id's digits (n7 → 1007). */
function put(client: Etcd3, service: string, id: string): Promise<void> {
  return putEndpoint(client, testEndpoint(service, id, 1000 + (parseInt(id.replace(/\D/g, ''), 10) || 0)));
}

/** The ids etcd holds for `service` right now: the truth a watcher must converge to. */
async function truth(client: Etcd3, service: string): Promise<string[]> {
  const keys = await client.getAll().prefix(servicePrefix('/services', service)).keys();
  return keys.map((key) => key.slice(servicePrefix('/services', service).length)).sort();
}

describe('discovery keeps the truth across etcd failures', () => {
  it('serves the last known endpoints while etcd is down, and converges when it returns', async () => {
    const etcd = await EtcdServer.start();
    cleanups.push(() => etcd.destroy());
    const client = etcd.client();
    await put(client, 'svc', 'a1');
    await put(client, 'svc', 'a2');
    const discovery = await consumer([etcd.host], ['svc']);
    expect(discovery.getEndpoints('svc').map((endpoint) => endpoint.id)).toEqual(['a1', 'a2']);

    await etcd.stop();
    // Long enough for the watch stream to notice and start retrying.
    await waitFor('the watch to notice', async () => {
      discovery.pick('svc');
      return true;
    });
    for (let call = 0; call < 100; call += 1) expect(['a1', 'a2']).toContain(discovery.pick('svc').id);

    await etcd.restart();
    await deleteEndpoint(client, 'svc', 'a1');
    await put(client, 'svc', 'a3');
    await waitFor(
      'the list to converge',
      () =>
        discovery
          .getEndpoints('svc')
          .map((endpoint) => endpoint.id)
          .join() === 'a2,a3',
      {
        timeoutMs: 15_000,
      },
    );
  });

  it('converges after an etcd restart in the middle of a stream of changes, never listing an id twice', async () => {
    const etcd = await EtcdServer.start();
    cleanups.push(() => etcd.destroy());
    const client = etcd.client();
    const discovery = await consumer([etcd.host], ['churn']);
    const lists: string[][] = [];
    subscriptions.push(
      discovery.endpoints$('churn').subscribe((list) => lists.push(list.map((endpoint) => endpoint.id))),
    );

    let writing = true;
    const writer = (async () => {
      for (let step = 0; writing; step += 1) {
        const id = `n${step % 40}`;
        try {
          if (step % 3 === 2) await deleteEndpoint(client, 'churn', id);
          else await put(client, 'churn', id);
        } catch {
          await new Promise((resolve) => setTimeout(resolve, 50)); // etcd is restarting
        }
      }
    })();
    await waitFor('changes to flow', () => lists.length > 20);
    await etcd.restart();
    await waitFor('changes to flow again', async () => lists.length > 40 && (await truth(client, 'churn')).length > 0, {
      timeoutMs: 20_000,
    });
    writing = false;
    await writer;

    const expected = await truth(client, 'churn');
    await waitFor(
      'the watcher to converge',
      () =>
        discovery
          .getEndpoints('churn')
          .map((endpoint) => endpoint.id)
          .sort()
          .join() === expected.join(),
      {
        timeoutMs: 15_000,
      },
    );
    for (const list of lists) expect(new Set(list).size).toBe(list.length);
  });

  it('converges when etcd comes back with its data wiped (revisions start over)', async () => {
    const etcd = await EtcdServer.start();
    cleanups.push(() => etcd.destroy());
    const client = etcd.client();
    for (const id of ['w1', 'w2', 'w3']) await put(client, 'wiped', id);
    for (let step = 0; step < 50; step += 1) await put(client, 'wiped', 'w1');
    const maxHoldMs = 4000;
    const discovery = await consumer([etcd.host], ['wiped'], { selfPreservation: { confirmMs: 1000, maxHoldMs } });
    expect(discovery.getEndpoints('wiped')).toHaveLength(3);

    const wipedAt = Date.now();
    await etcd.restart({ wipe: true });
    await put(client, 'wiped', 'w9');
    const ids = () =>
      discovery
        .getEndpoints('wiped')
        .map((endpoint) => endpoint.id)
        .join();
    // The new one at once; the three the wiped etcd lost are held (they might be re-registering)…
    await waitFor('w9 listed', () => ids() === 'w1,w2,w3,w9', { timeoutMs: 10_000 });
    // …not merely for confirmMs (a list from an etcd that lost its data confirms nothing), until maxHoldMs.
    await waitFor('the list to be the new truth', () => ids() === 'w9', { timeoutMs: 15_000 });
    expect(Date.now() - wipedAt).toBeGreaterThanOrEqual(maxHoldMs);
  });

  it('after a compaction while its etcd member was down, re-lists and emits exactly the diff', async () => {
    const cluster = await EtcdCluster.start(3);
    cleanups.push(() => cluster.destroy());
    const [watched, other] = cluster.members as [EtcdServer, EtcdServer];
    const writer = other.client();
    for (const id of ['c1', 'c2', 'c3']) await put(writer, 'compacted', id);
    // The consumer talks to one member only, so that stopping it cuts its watch.
    const discovery = await consumer([watched.host], ['compacted']);
    const changes: EndpointChange[] = [];
    subscriptions.push(discovery.changes$('compacted').subscribe((change) => changes.push(change)));
    expect(discovery.getEndpoints('compacted')).toHaveLength(3);

    await watched.stop();
    await deleteEndpoint(writer, 'compacted', 'c1');
    await put(writer, 'compacted', 'c4');
    await put(writer, 'compacted', 'c5');
    await deleteEndpoint(writer, 'compacted', 'c5');
    const { header } = await writer.getAll().prefix(servicePrefix('/services', 'compacted')).exec();
    await writer.kv.compact({ revision: header.revision, physical: true });
    await watched.restart();

    await waitFor(
      'the list to converge',
      () =>
        discovery
          .getEndpoints('compacted')
          .map((endpoint) => endpoint.id)
          .join() === 'c2,c3,c4',
      {
        timeoutMs: 20_000,
      },
    );
    // c5 came and went while the watch was away: invisible, as it should be; no change twice.
    expect(changes.map((change) => `${change.type} ${change.endpoint.id}`).sort()).toEqual(['added c4', 'removed c1']);
  });
});
