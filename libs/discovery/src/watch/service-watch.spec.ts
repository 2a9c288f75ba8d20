import type { LoggerService } from '@nestjs/common';
import { memoryPut, svcEndpoint, waitFor } from '@repo/testing';
import { InMemoryEtcd } from '../testing/in-memory-etcd.js';
import type { EndpointChange } from './endpoint-change.interface.js';
import { ServiceWatch } from './service-watch.js';
import { TolerantDecoder } from './tolerant-decoder.js';

const settings = {
  resyncIntervalMs: 300_000,
  backoff: { initialDelayMs: 10, maxDelayMs: 20 },
  etcdHosts: ['in-memory'],
};
const watches: ServiceWatch[] = [];

afterEach(async () => {
  await Promise.all(watches.splice(0).map((watch) => watch.stop()));
});

function watchService(etcd: InMemoryEtcd) {
  const warnings: string[] = [];
  const logger = {
    log: () => undefined,
    warn: (message: string) => warnings.push(message),
    error: () => undefined,
  } as LoggerService;
  const watch = new ServiceWatch(
    etcd,
    '/services',
    'svc',
    settings,
    logger,
    new TolerantDecoder('/services', logger, new Map()),
  );
  watches.push(watch);
  const lists: string[][] = [];
  const changes: string[] = [];
  const revisions: number[] = [];
  watch.endpoints$.subscribe((list) => lists.push(list.map((endpoint) => endpoint.id)));
  watch.changes$.subscribe((change: EndpointChange) => {
    changes.push(
      `${change.type} ${change.endpoint.id}${change.previous ? ` (was v${change.previous.version ?? '-'})` : ''}`,
    );
    revisions.push(change.revision);
  });
  return { watch, lists, changes, revisions, warnings };
}

describe('ServiceWatch (the live list of one service)', () => {
  it('gives the first list (sorted by id), then added / removed / updated changes with their revision', async () => {
    const etcd = new InMemoryEtcd();
    etcd.transaction([memoryPut(svcEndpoint('b', { port: 2 })), memoryPut(svcEndpoint('a', { port: 1 }))]);
    const { watch, lists, changes, revisions } = watchService(etcd);
    await watch.ready;
    expect(lists).toEqual([['a', 'b']]);
    expect(changes).toEqual([]); // the first list is where changes start from, not a change

    etcd.transaction([memoryPut(svcEndpoint('c', { port: 3 }))]);
    etcd.transaction([{ delete: '/services/svc/a' }]);
    etcd.transaction([memoryPut(svcEndpoint('b', { port: 2, version: '2' }))]);
    await waitFor('three changes', () => changes.length === 3);
    expect(changes).toEqual(['added c', 'removed a', 'updated b (was v-)']);
    expect(revisions).toEqual([2, 3, 4]);
    expect(lists).toEqual([
      ['a', 'b'],
      ['a', 'b', 'c'],
      ['b', 'c'],
      ['b', 'c'],
    ]);
    expect(watch.current.find((endpoint) => endpoint.id === 'b')?.version).toBe('2');
  });

  it('turns one watch response (a transaction of several changes) into one new list', async () => {
    const etcd = new InMemoryEtcd();
    const { watch, lists, changes } = watchService(etcd);
    await watch.ready;
    etcd.transaction([
      memoryPut(svcEndpoint('a', { port: 1 })),
      memoryPut(svcEndpoint('b', { port: 2 })),
      memoryPut(svcEndpoint('c', { port: 3 })),
    ]);
    await waitFor('the new list', () => lists.length === 2);
    expect(lists).toEqual([[], ['a', 'b', 'c']]);
    expect(changes).toEqual(['added a', 'added b', 'added c']);
  });

  it('emits nothing when a value is written again unchanged', async () => {
    const etcd = new InMemoryEtcd();
    etcd.transaction([memoryPut(svcEndpoint('a', { port: 1 }))]);
    const { watch, lists } = watchService(etcd);
    await watch.ready;
    etcd.transaction([memoryPut(svcEndpoint('a', { port: 1 }))]);
    etcd.transaction([memoryPut(svcEndpoint('z', { port: 9 }))]);
    await waitFor('the later change', () => lists.length === 2);
    expect(lists).toEqual([['a'], ['a', 'z']]);
  });

  it('skips an unreadable value with one warning per key and value, and lists the rest', async () => {
    const etcd = new InMemoryEtcd();
    etcd.transaction([memoryPut(svcEndpoint('a', { port: 1 })), { put: '/services/svc/bad', value: 'not an address' }]);
    const { watch, lists, warnings } = watchService(etcd);
    await watch.ready;
    expect(lists).toEqual([['a']]);
    etcd.transaction([{ put: '/services/svc/bad', value: 'not an address' }]); // the same garbage again
    etcd.transaction([memoryPut(svcEndpoint('b', { port: 2 }))]);
    await waitFor('the later change', () => lists.length === 2);
    expect(warnings).toEqual([
      'Skipping /services/svc/bad: the value is neither JSON nor host:port nor a URL (value: "not an address")',
    ]);
  });

  it('after a re-list (watch cancelled by a compaction), emits what changed meanwhile: removed and added', async () => {
    const etcd = new InMemoryEtcd();
    etcd.transaction([memoryPut(svcEndpoint('a', { port: 1 })), memoryPut(svcEndpoint('b', { port: 2 }))]);
    const { watch, lists, changes } = watchService(etcd);
    await watch.ready;
    etcd.goDown();
    etcd.transaction([{ delete: '/services/svc/a' }, memoryPut(svcEndpoint('c', { port: 3 }))]);
    etcd.breakWatches();
    etcd.comeBack();
    await waitFor('the re-list', () => lists.length === 2);
    expect(lists).toEqual([
      ['a', 'b'],
      ['b', 'c'],
    ]);
    expect(changes.sort()).toEqual(['added c', 'removed a']);
  });

  it('completes its observables when stopped', async () => {
    const etcd = new InMemoryEtcd();
    const { watch } = watchService(etcd);
    let completed = 0;
    watch.endpoints$.subscribe({ complete: () => (completed += 1) });
    watch.changes$.subscribe({ complete: () => (completed += 1) });
    await watch.stop();
    expect(completed).toBe(2);
  });
});
