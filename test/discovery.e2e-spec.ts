import { Injectable, type INestApplicationContext } from '@nestjs/common';
import type { Etcd3 } from 'etcd3';
import {
  ConsistentHashStrategy,
  DiscoveryClosedError,
  DiscoveryTimeoutError,
  NoEndpointAvailableError,
  ServiceRegistry,
  WeightedRoundRobinStrategy,
  type EndpointChange,
  type LoadBalancingStrategy,
  type ServiceEndpoint,
} from 'nestjs-etcd-discovery';
import { endpointKey } from 'nestjs-etcd-discovery/codec';
import type { Subscription } from 'rxjs';
import {
  CapturingLogger,
  deleteEndpoint,
  EtcdServer,
  namespaces,
  putEndpoint,
  putOperation,
  startConsumer,
  testEndpoint as endpoint,
  waitFor,
} from '@repo/testing';

let etcd: EtcdServer;
let client: Etcd3;
const contexts: INestApplicationContext[] = [];
const subscriptions: Subscription[] = [];
const freshNamespace = namespaces('discovery');

beforeAll(async () => {
  // A transaction of 1,000 puts needs more than etcd's default of 128 operations.
  etcd = await EtcdServer.start({ extraArgs: ['--max-txn-ops=2000'] });
  client = etcd.client();
});
afterEach(async () => {
  subscriptions.splice(0).forEach((subscription) => subscription.unsubscribe());
  await Promise.all(contexts.splice(0).map((context) => context.close()));
});
afterAll(async () => {
  await etcd.destroy();
});

async function consumer(namespace: string, extra: object = {}, logger = new CapturingLogger()) {
  const started = await startConsumer({ etcd: { hosts: [etcd.host] }, namespace, ...extra }, logger);
  contexts.push(started.app);
  return { ...started, logger };
}

const put = (namespace: string, value: ServiceEndpoint) => putEndpoint(client, value, namespace);

/** Subscribes and records every emission (unsubscribed after the test). */
function record<T>(source: { subscribe: (next: (value: T) => void) => Subscription }): T[] {
  const seen: T[] = [];
  subscriptions.push(source.subscribe((value) => seen.push(value)));
  return seen;
}

const idsOf = (list: readonly ServiceEndpoint[] | undefined) => list?.map((item) => item.id);

describe('DiscoveryClient on a real etcd', () => {
  it('serves a required service from bootstrap: the first pick() works, sorted by id, with no wait', async () => {
    const namespace = freshNamespace();
    await put(namespace, endpoint('svc', 'b', 2));
    await put(namespace, endpoint('svc', 'a', 1, { metadata: { zone: 'x' } }));
    const { discovery } = await consumer(namespace, { requires: ['svc'] });
    expect(idsOf(discovery.getEndpoints('svc'))).toEqual(['a', 'b']);
    expect(discovery.getEndpoints('svc')[0].metadata).toEqual({ zone: 'x' });
    expect([1, 2, 3].map(() => discovery.pick('svc').id)).toEqual(['a', 'b', 'a']);
  });

  it('emits the current list, then one list per real change, and the changes with their revisions', async () => {
    const namespace = freshNamespace();
    await put(namespace, endpoint('svc', 'a', 1));
    const { discovery } = await consumer(namespace);
    const lists = record(discovery.endpoints$('svc'));
    const changes = record<EndpointChange>(discovery.changes$('svc'));
    await waitFor('the first list', () => lists.length === 1);

    await put(namespace, endpoint('svc', 'c', 3));
    await waitFor('c', () => lists.length === 2);
    await deleteEndpoint(client, 'svc', 'a', namespace);
    await waitFor('a gone', () => lists.length === 3);
    await put(namespace, endpoint('svc', 'c', 3)); // the same value again: no change, no emission
    await put(namespace, endpoint('svc', 'c', 3, { version: '2' }));
    await waitFor('c updated', () => lists.length === 4);

    expect(lists.map(idsOf)).toEqual([['a'], ['a', 'c'], ['c'], ['c']]);
    expect(lists[3][0].version).toBe('2');
    expect(changes.map((change) => [change.type, change.endpoint.id])).toEqual([
      ['added', 'c'],
      ['removed', 'a'],
      ['updated', 'c'],
    ]);
    expect(changes[2].previous?.version).toBeUndefined();
    const revisions = changes.map((change) => change.revision);
    expect([...revisions].sort((x, y) => x - y)).toEqual(revisions);
    expect(new Set(revisions).size).toBe(3);
  });

  it('turns a transaction of 1,000 registrations into one emission', async () => {
    const namespace = freshNamespace();
    const { discovery } = await consumer(namespace);
    const lists = record(discovery.endpoints$('bulk'));
    await waitFor('the empty first list', () => lists.length === 1);
    const puts = Array.from({ length: 1000 }, (_, index) => {
      return putOperation(endpoint('bulk', `i${String(index).padStart(4, '0')}`, 10_000 + index), namespace);
    });
    await client.kv.txn({ success: puts });
    // A sentinel written afterwards: once it shows, every emission the transaction caused has been seen.
    await put(namespace, endpoint('bulk', 'z-sentinel', 9999));
    await waitFor('the sentinel', () => lists.at(-1)?.length === 1001);
    expect(lists.map((list) => list.length)).toEqual([0, 1000, 1001]);
  });

  it('reads every layout Go services write (keys written by etcdctl), skipping garbage with one warning per key', async () => {
    const namespace = freshNamespace();
    const puts: [string, string][] = [
      ['naming', '{"Addr":"10.1.0.1:5001","Metadata":{"version":"v2"}}'],
      ['plain', '10.1.0.2:5002'],
      ['url', 'grpc://10.1.0.3:5003'],
      ['10.1.0.4:5004', ''],
      ['kratos', '{"id":"k1","name":"go","endpoints":["grpc://10.1.0.5:5005"]}'],
      ['garbage', 'not-an-address'],
      ['broken', '{"Addr":'],
    ];
    for (const [id, value] of puts) await etcd.etcdctl('put', endpointKey(namespace, 'go', id), '--', value);
    const { discovery, logger } = await consumer(namespace);
    const list = await discovery.waitFor('go', { count: 5, timeoutMs: 5000 });
    expect(list.map((item) => [item.id, item.address])).toEqual([
      ['10.1.0.4:5004', '10.1.0.4:5004'],
      ['k1', '10.1.0.5:5005'],
      ['naming', '10.1.0.1:5001'],
      ['plain', '10.1.0.2:5002'],
      ['url', '10.1.0.3:5003'],
    ]);
    expect(list.find((item) => item.id === 'naming')?.version).toBe('v2');
    const skipped = () => logger.warnings.filter((warning) => warning.startsWith('Skipping'));
    expect(skipped()).toEqual([
      expect.stringMatching(new RegExp(`^Skipping ${namespace}/go/broken: the value is not valid JSON`)),
      expect.stringMatching(new RegExp(`^Skipping ${namespace}/go/garbage: the value is neither JSON nor host:port`)),
    ]);

    const lists = record(discovery.endpoints$('go'));
    await etcd.etcdctl('put', endpointKey(namespace, 'go', 'garbage'), 'not-an-address'); // same garbage: no second warning
    await etcd.etcdctl('put', endpointKey(namespace, 'go', 'extra'), '10.1.0.6:5006');
    await waitFor('extra', () => lists.at(-1)?.length === 6);
    expect(skipped()).toHaveLength(2);
    await etcd.etcdctl('put', endpointKey(namespace, 'go', 'garbage'), 'still garbage'); // new garbage: one more
    await waitFor('the new warning', () => skipped().length === 3);
  });

  it('makes no etcd request per pick(), and shares one watch per service that stops with the last subscriber', async () => {
    const namespace = freshNamespace();
    await put(namespace, endpoint('hot', 'a', 1));
    await put(namespace, endpoint('hot', 'b', 2));
    const { discovery } = await consumer(namespace, { requires: ['hot'] });
    // Its start-up done: the last of it is the report of the traffic policies it applies (a lease, a put).
    await waitFor('its policy report', async () => {
      const reports = await etcd.client().getAll().prefix(`${namespace}.policy-applied/`).keys();
      return reports.length === 1;
    });
    const ranges = () => etcd.metric('grpc_server_started_total', 'grpc_method="Range"');
    const before = await ranges();
    for (let call = 0; call < 10_000; call += 1) discovery.pick('hot');
    expect(await ranges()).toBe(before);

    const watchers = () => etcd.metric('etcd_debugging_mvcc_watcher_total');
    const baseline = await watchers();
    const firstLists = Array.from({ length: 5 }, () => record(discovery.endpoints$('shared')));
    await waitFor('every subscriber to have its first list', () => firstLists.every((lists) => lists.length === 1));
    expect(await watchers()).toBe(baseline + 1);
    subscriptions.splice(0).forEach((subscription) => subscription.unsubscribe());
    await waitFor('the watch to stop', async () => (await watchers()) === baseline);
  });

  it('waitFor resolves once enough endpoints exist, and rejects with a clear error after its timeout', async () => {
    const namespace = freshNamespace();
    const { discovery } = await consumer(namespace);
    const waiting = discovery.waitFor('later', { count: 2, timeoutMs: 10_000 });
    await put(namespace, endpoint('later', 'a', 1));
    await put(namespace, endpoint('later', 'b', 2));
    expect(idsOf(await waiting)).toEqual(['a', 'b']);

    const failing = discovery.waitFor('later', { count: 3, timeoutMs: 300 });
    await expect(failing).rejects.toThrow(DiscoveryTimeoutError);
    await expect(failing).rejects.toThrow(
      'Timed out after 300 ms waiting for 3 endpoint(s) of service "later" (found 2)',
    );
  });

  it('pick() throws NoEndpointAvailableError naming the service', async () => {
    const namespace = freshNamespace();
    const { discovery } = await consumer(namespace, { requires: ['ghost'] });
    expect(() => discovery.pick('ghost')).toThrow(NoEndpointAvailableError);
    expect(() => discovery.pick('ghost')).toThrow(
      'No endpoint available for service "ghost": no instance is registered',
    );
    // A service never declared is still being read on its first use, and the message says what to do.
    expect(() => discovery.pick('undeclared')).toThrow(/"undeclared" yet: .*Declare it in `requires`/);
    expect(() => discovery.pick('a/b')).toThrow(/Invalid service name "a\/b" in DiscoveryClient/);
  });

  it('starts no watch once closed: a pick() for a new service after shutdown fails clearly, cached ones still answer', async () => {
    const namespace = freshNamespace();
    await put(namespace, endpoint('kept', 'a', 1));
    const { app, discovery } = await consumer(namespace, { requires: ['kept'] });
    await app.close();
    contexts.splice(contexts.indexOf(app), 1);
    expect(discovery.pick('kept').id).toBe('a');
    expect(() => discovery.pick('late')).toThrow(DiscoveryClosedError);
    expect(() => discovery.pick('late')).toThrow('The discovery client is closed: the application is shutting down.');
  });

  it('services$ lists the service names under the namespace, and follows them', async () => {
    const namespace = freshNamespace();
    await put(namespace, endpoint('alpha', 'a', 1));
    const { discovery } = await consumer(namespace);
    const names = record(discovery.services$());
    await waitFor('the names', () => names.length === 1);
    await put(namespace, endpoint('beta', 'b', 2));
    await put(namespace, endpoint('alpha', 'c', 3));
    await waitFor('beta', () => names.length === 2);
    expect(names).toEqual([['alpha'], ['alpha', 'beta']]);
  });

  it('picks with per-service strategies, a class strategy built by Nest DI among them', async () => {
    @Injectable()
    class LastOne implements LoadBalancingStrategy {
      // A dependency, to show that Nest builds the class: without the injection pick() would throw.
      constructor(private readonly registry: ServiceRegistry) {}
      pick(endpoints: readonly ServiceEndpoint[]) {
        return this.registry.registrations() && endpoints.at(-1);
      }
    }
    const namespace = freshNamespace();
    await put(namespace, endpoint('weighted', 'heavy', 1, { weight: 3 }));
    await put(namespace, endpoint('weighted', 'light', 2, { weight: 1 }));
    await put(namespace, endpoint('hashed', 'h1', 3));
    await put(namespace, endpoint('hashed', 'h2', 4));
    await put(namespace, endpoint('custom', 'first', 5));
    await put(namespace, endpoint('custom', 'last', 6));
    const { discovery } = await consumer(namespace, {
      requires: ['weighted', 'hashed', 'custom'],
      strategies: { weighted: new WeightedRoundRobinStrategy(), hashed: new ConsistentHashStrategy(), custom: LastOne },
    });
    expect([1, 2, 3, 4].map(() => discovery.pick('weighted').id)).toEqual(['heavy', 'heavy', 'light', 'heavy']);
    const owner = discovery.pick('hashed', 'user-42').id;
    expect([1, 2, 3].map(() => discovery.pick('hashed', 'user-42').id)).toEqual([owner, owner, owner]);
    expect(() => discovery.pick('hashed')).toThrow(/needs a key/);
    expect(discovery.pick('custom').id).toBe('last');
  });
});
