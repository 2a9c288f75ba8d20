import type { LoggerService } from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';
import { memoryPut, svcEndpoint, waitFor } from '@repo/testing';
import { InMemoryEtcd } from '../testing/in-memory-etcd.js';
import { ServiceWatch } from './service-watch.js';
import { TolerantDecoder } from './tolerant-decoder.js';

const confirmMs = 150;
const maxHoldMs = 600;
const watches: ServiceWatch[] = [];

afterEach(async () => {
  await Promise.all(watches.splice(0).map((watch) => watch.stop()));
});

async function watchService(
  etcd: InMemoryEtcd,
  selfPreservation: { confirmMs: number; maxHoldMs: number } | false = { confirmMs, maxHoldMs },
) {
  const logs: string[] = [];
  const logger = {
    log: (message: string) => logs.push(message),
    warn: (message: string) => logs.push(`WARN ${message}`),
    error: () => undefined,
  } as LoggerService;
  const settings = {
    resyncIntervalMs: 300_000,
    backoff: { initialDelayMs: 10, maxDelayMs: 20 },
    etcdHosts: ['in-memory'],
    selfPreservation,
  };
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
  watch.endpoints$.subscribe((list) => lists.push(list.map((endpoint) => endpoint.id)));
  watch.changes$.subscribe((change) => changes.push(`${change.type} ${change.endpoint.id}`));
  await watch.ready;
  return { watch, lists, changes, logs, ids: () => watch.current.map((endpoint) => endpoint.id).join() };
}

const remove = (id: string) => ({ delete: `/services/svc/${id}` });

/** Three instances, each on its own lease, as three apps would be, after a few writes (etcd's revision is 6). */
async function threeInstances(etcd: InMemoryEtcd) {
  const leases = await Promise.all(['a', 'b', 'c'].map(() => etcd.grantLease(10)));
  for (let step = 0; step < 5; step += 1)
    etcd.transaction([memoryPut(svcEndpoint('a', { version: `${step}` }), leases[0])]);
  etcd.transaction([
    memoryPut(svcEndpoint('a'), leases[0]),
    memoryPut(svcEndpoint('b'), leases[1]),
    memoryPut(svcEndpoint('c'), leases[2]),
  ]);
  return leases;
}

describe('self-preservation (HeldRemovals in ServiceWatch)', () => {
  it('removes one of three at once, and the last as well once a list read confirmMs later confirms it', async () => {
    const etcd = new InMemoryEtcd();
    const leases = await threeInstances(etcd);
    const { watch, changes, logs, ids } = await watchService(etcd);
    etcd.expireLease(leases[0]);
    await waitFor('a removed', () => ids() === 'b,c');
    etcd.expireLease(leases[1]); // one of two: half, not more than half
    await waitFor('b removed', () => ids() === 'c');
    expect(logs).toEqual([]);

    const lastExpiredAt = Date.now();
    etcd.expireLease(leases[2]); // all that is left
    await sleep(confirmMs / 2);
    expect(ids()).toBe('c'); // held: still listed, still pickable
    expect(watch.pickable.map((endpoint) => endpoint.id)).toEqual(['c']);
    expect(logs).toEqual([
      `WARN Self-preservation: not removing the 1 of 1 'up' endpoints of "svc" that a single change took away, ` +
        `until a list 0.15 s later confirms them gone (at most 0.6 s)`,
    ]);

    await waitFor('the removal confirmed', () => ids() === '');
    expect(Date.now() - lastExpiredAt).toBeGreaterThanOrEqual(confirmMs - 5);
    expect(changes).toEqual(['removed a', 'removed b', 'removed c']);
    expect(logs[1]).toBe('Self-preservation: removing 1 endpoint(s) of "svc" (a fresh list confirms it)');
  });

  it('holds the loss of more than half in one change (two of three); releases the one that comes back', async () => {
    const etcd = new InMemoryEtcd();
    await threeInstances(etcd);
    const { changes, logs, ids } = await watchService(etcd);
    etcd.transaction([remove('a'), remove('b')]);
    await sleep(20);
    expect(ids()).toBe('a,b,c');
    etcd.transaction([memoryPut(svcEndpoint('a'))]); // written again, unchanged: back, nothing to publish
    await waitFor('b confirmed gone', () => ids() === 'a,c');
    expect(changes).toEqual(['removed b']);
    expect(logs.at(-1)).toBe(
      'Self-preservation: removing 1 endpoint(s) of "svc" (a fresh list confirms it); 1 came back',
    );
  });

  it("never holds what turned 'draining' or 'down' before its key went (a graceful shutdown)", async () => {
    const etcd = new InMemoryEtcd();
    etcd.transaction([memoryPut(svcEndpoint('a'))]);
    const { ids, logs } = await watchService(etcd);
    etcd.transaction([memoryPut(svcEndpoint('a', { status: 'draining' }))]);
    await waitFor('a draining', () => ids() === 'a');
    etcd.transaction([remove('a')]);
    await waitFor('a removed at once', () => ids() === '', { timeoutMs: confirmMs / 2, intervalMs: 5 });
    expect(logs).toEqual([]);
  });

  it('after etcd lost its data, holds them all until written again: nothing published, up to maxHoldMs', async () => {
    const etcd = new InMemoryEtcd();
    await threeInstances(etcd);
    const { lists, changes, logs, ids } = await watchService(etcd);
    const before = lists.length;

    etcd.goDown();
    etcd.wipe();
    etcd.comeBack(); // the watch is behind the wiped etcd: it re-lists, and the list is empty
    await waitFor('the hold', () => logs.length === 1);
    expect(logs[0]).toBe(
      `WARN Self-preservation: not removing the 3 of 3 'up' endpoints of "svc" that a list from an etcd ` +
        `that lost its data left out, until they are written again (at most 0.6 s)`,
    );
    await sleep(confirmMs * 2); // past confirmMs: a list from a wiped etcd confirms nothing
    expect(ids()).toBe('a,b,c');
    etcd.transaction([memoryPut(svcEndpoint('a')), memoryPut(svcEndpoint('b'))]);
    etcd.transaction([memoryPut(svcEndpoint('c'))]);
    await waitFor('the release', () => logs.length === 2);
    expect(logs[1]).toBe('Self-preservation: the 3 held endpoint(s) of "svc" are back; nothing was removed');
    expect(changes).toEqual([]);
    expect(lists.length).toBe(before);
  });

  it('believes the loss after maxHoldMs when the endpoints never come back', async () => {
    const etcd = new InMemoryEtcd();
    await threeInstances(etcd);
    const { ids, logs } = await watchService(etcd);
    etcd.goDown();
    etcd.wipe();
    etcd.comeBack();
    const wipedAt = Date.now();
    etcd.transaction([memoryPut(svcEndpoint('d'))]);
    await waitFor('d listed', () => ids() === 'a,b,c,d');
    await waitFor('the loss believed', () => ids() === 'd', { timeoutMs: maxHoldMs * 3 });
    expect(Date.now() - wipedAt).toBeGreaterThanOrEqual(maxHoldMs - 20);
    expect(logs.at(-1)).toBe(
      'Self-preservation: removing 3 endpoint(s) of "svc" (held for the longest allowed, 0.6 s)',
    );
  });

  it('with selfPreservation off, a loss of everything is published at once', async () => {
    const etcd = new InMemoryEtcd();
    etcd.transaction([memoryPut(svcEndpoint('a')), memoryPut(svcEndpoint('b'))]);
    const { ids, logs } = await watchService(etcd, false);
    etcd.transaction([remove('a'), remove('b')]);
    await waitFor('both removed', () => ids() === '', { timeoutMs: confirmMs / 2, intervalMs: 5 });
    expect(logs).toEqual([]);
  });
});
