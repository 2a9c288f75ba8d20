import { Logger, type INestApplicationContext } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { testEndpoint, waitFor } from '@repo/testing';
import { firstValueFrom, lastValueFrom, NEVER, Observable, of, Subject, throwError, toArray } from 'rxjs';
import { LeastOutstandingStrategy } from '../balancing/least-outstanding.strategy.js';
import type { LoadBalancingStrategy } from '../balancing/load-balancing-strategy.js';
import type { EndpointFilter } from '../picking/subset.js';
import { CallTimeoutError, NoEndpointAvailableError } from '../errors.js';
import type { ServiceEndpoint } from '../service-endpoint.interface.js';
import { DiscoveryTestingModule, InMemoryRegistry } from '../testing/index.js';
import { DiscoveryClient } from '../discovery/discovery-client.js';
import { ClientProxyParts } from './client-proxy-parts.js';
import { DiscoveryClientProxy } from './discovery-client-proxy.js';

/** How a fake instance answers one call. */
type Behaviour = () => Observable<any>;

const refused = () => throwError(() => Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }));
const answers = (value: unknown) => () => of(value);

const apps: INestApplicationContext[] = [];
beforeAll(() => Logger.overrideLogger(false));
afterAll(() => Logger.overrideLogger(new Logger()));
afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close()));
});

/**
 * A proxy for service "svc" over the library's real watches and picks on an in-memory etcd holding `ids`, whose
 * instance clients are fakes that answer as `behaviours` says.
 */
async function proxyFor(
  ids: string[],
  behaviours: Record<string, Behaviour>,
  {
    retries = 2,
    strategy,
    where,
    timeoutMs,
    retryOnTimeout,
    emits,
  }: {
    /** How each instance takes an event (default: sent at once). */
    emits?: Record<string, Behaviour>;
    retries?: number;
    strategy?: LoadBalancingStrategy;
    where?: EndpointFilter;
    timeoutMs?: number;
    retryOnTimeout?: boolean;
  } = {},
) {
  const endpoints = { svc: ids.map((id, index) => ({ id, host: '10.9.0.1', port: 1000 + index })) };
  const moduleRef = await Test.createTestingModule({
    imports: [DiscoveryTestingModule.forRoot({ endpoints, ...(strategy ? { strategy } : {}) })],
  }).compile();
  const app = await moduleRef.init();
  apps.push(app);
  const calls: string[] = [];
  const emitted: string[] = [];
  const closed: string[] = [];
  const proxy = new DiscoveryClientProxy(
    { service: 'svc', retries, where, timeoutMs, retryOnTimeout },
    app.get(ClientProxyParts),
    (endpoint: ServiceEndpoint) => ({
      send: () => {
        calls.push(endpoint.id);
        return behaviours[endpoint.id]();
      },
      emit: () => {
        emitted.push(endpoint.id);
        return emits?.[endpoint.id]?.() ?? of<any>(undefined);
      },
      close: () => void closed.push(endpoint.id),
    }),
  );
  const registry = app.get(InMemoryRegistry);
  return { registry, discovery: app.get(DiscoveryClient), proxy, calls, emitted, closed };
}

describe('DiscoveryClientProxy', () => {
  it('a reply read by firstValueFrom() is an answer: an instance failing now and then is not ejected', async () => {
    let callsToA = 0;
    // a refuses, refuses, answers, refuses, refuses: never 3 failures in a row.
    const { proxy, discovery } = await proxyFor(['a', 'b'], {
      a: () => (++callsToA === 3 ? of('from a') : refused()),
      b: answers('from b'),
    });
    for (let send = 0; send < 20 && callsToA < 5; send += 1) await firstValueFrom(proxy.send('ping', {}));
    expect(callsToA).toBe(5);
    const picked = new Set(Array.from({ length: 4 }, () => discovery.pick('svc').id));
    expect(picked).toEqual(new Set(['a', 'b']));
  });

  it('moves on to an instance not tried yet when one refuses the connection, and closes the refused one', async () => {
    const { proxy, calls, closed } = await proxyFor(['a', 'b', 'c'], {
      a: refused,
      b: answers('from b'),
      c: answers('from c'),
    });
    // Round robin: a first; the retry picks among b and c on a rotation of its own (b first), so the
    // next call is b's turn.
    expect(await firstValueFrom(proxy.send('ping', {}))).toBe('from b');
    expect(calls).toEqual(['a', 'b']);
    expect(closed).toEqual(['a']);
  });

  it('a send with no reply in timeoutMs: CallTimeoutError, counted against its instance, not sent again', async () => {
    const { proxy, calls, closed } = await proxyFor(
      ['a', 'b'],
      { a: () => NEVER, b: answers('from b') },
      { timeoutMs: 50 },
    );
    const error = (await firstValueFrom(proxy.send('ping', {})).catch((caught: unknown) => caught)) as CallTimeoutError;
    expect(error).toBeInstanceOf(CallTimeoutError);
    expect(error.message).toMatch(
      new RegExp(
        '^send\\(\\) to "svc" got no reply within timeoutMs \\(50 ms\\) ' +
          'from a@10\\.9\\.0\\.1:1000 \\(1 attempt\\)\\. .*retryOnTimeout: true',
      ),
    );
    expect(calls).toEqual(['a']);
    expect(closed).toEqual(['a']); // a silent instance's connection is closed too
  });

  it('an event not sent within timeoutMs: CallTimeoutError, never sent again (it may have arrived)', async () => {
    const { proxy, emitted, closed } = await proxyFor(
      ['a', 'b'],
      {},
      { timeoutMs: 50, retryOnTimeout: true, emits: { a: () => NEVER } },
    );
    const startedAt = Date.now();
    const error = (await lastValueFrom(proxy.emit('evt', {}), { defaultValue: undefined }).catch(
      (caught: unknown) => caught,
    )) as CallTimeoutError;
    expect(Date.now() - startedAt).toBeLessThan(1000);
    expect(error).toBeInstanceOf(CallTimeoutError);
    expect(error.message).toMatch(
      /^emit\(\) to "svc" could not be sent within timeoutMs \(50 ms\) from a@.*may have arrived/,
    );
    expect(emitted).toEqual(['a']);
    expect(closed).toEqual(['a']);
  });

  it('with retryOnTimeout, a send that timed out goes to another instance', async () => {
    const { proxy, calls } = await proxyFor(
      ['a', 'b'],
      { a: () => NEVER, b: answers('from b') },
      { timeoutMs: 50, retryOnTimeout: true },
    );
    expect(await firstValueFrom(proxy.send('ping', {}))).toBe('from b');
    expect(calls).toEqual(['a', 'b']);
  });

  it('passes an error raised by the remote handler through as it is, and never retries it', async () => {
    const remote = { status: 'error', message: 'refused by the handler' };
    const { proxy, calls } = await proxyFor(['a', 'b'], { a: () => throwError(() => remote), b: answers('from b') });
    await expect(firstValueFrom(proxy.send('fail', {}))).rejects.toBe(remote);
    expect(calls).toEqual(['a']);
  });

  it('does not retry a connection that drops after the instance began to answer', async () => {
    const dropped = Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
    const { proxy, calls } = await proxyFor(['a', 'b'], {
      a: () =>
        new Observable((subscriber) => {
          subscriber.next('part');
          subscriber.error(dropped);
        }),
      b: answers('from b'),
    });
    await expect(firstValueFrom(proxy.send('stream', {}).pipe(toArray()))).rejects.toBe(dropped);
    expect(calls).toEqual(['a']);
  });

  it('tries at most `retries` other instances', async () => {
    const { proxy, calls } = await proxyFor(
      ['a', 'b', 'c'],
      { a: refused, b: refused, c: answers('from c') },
      { retries: 1 },
    );
    await expect(firstValueFrom(proxy.send('ping', {}))).rejects.toThrow('connect ECONNREFUSED');
    expect(calls).toEqual(['a', 'b']); // c, which would answer, is a third instance: one retry only
  });

  it("keeps its own retries whatever a traffic policy's calls.retries says (as a call's own option)", async () => {
    const { proxy, calls, registry } = await proxyFor(
      ['a', 'b', 'c'],
      { a: refused, b: refused, c: answers('from c') },
      { retries: 1 },
    );
    await registry.setPolicy('svc', { calls: { retries: 5 } });
    await expect(firstValueFrom(proxy.send('ping', {}))).rejects.toThrow('connect ECONNREFUSED');
    expect(calls).toEqual(['a', 'b']);
  });

  it('reports to outlier ejection: an instance that refused 3 calls is not tried again; no call failed', async () => {
    const { proxy, calls } = await proxyFor(['a', 'b', 'c'], {
      a: refused,
      b: answers('from b'),
      c: answers('from c'),
    });
    const replies: string[] = [];
    for (let call = 0; call < 12; call += 1) replies.push(await firstValueFrom(proxy.send('ping', {})));
    expect(replies.every((reply) => reply === 'from b' || reply === 'from c')).toBe(true);
    expect(calls.filter((id) => id === 'a')).toHaveLength(3);
  });

  it('keeps to its subset (where), also when retrying', async () => {
    const { proxy, calls } = await proxyFor(
      ['a', 'b', 'c'],
      { a: refused, b: answers('from b'), c: answers('from c') },
      { where: (endpoint) => endpoint.id !== 'c' },
    );
    expect(await firstValueFrom(proxy.send('ping', {}))).toBe('from b');
    expect(await firstValueFrom(proxy.send('ping', {}))).toBe('from b');
    expect(calls).not.toContain('c');
  });

  it('closes the client of an instance that leaves the list', async () => {
    const { registry, proxy, closed } = await proxyFor(['a', 'b'], { a: answers('from a'), b: answers('from b') });
    expect(await firstValueFrom(proxy.send('ping', {}))).toBe('from a');
    await registry.remove('svc', 'a');
    await waitFor('the departed client closed', () => closed.includes('a'));
    expect(closed).toEqual(['a']);
  });

  it('tells a LeastOutstandingStrategy of every call in flight', async () => {
    const strategy = new LeastOutstandingStrategy(() => 0); // always draws a, then b
    const reply = new Subject<string>();
    const { proxy } = await proxyFor(['a', 'b'], { a: () => reply, b: () => NEVER }, { strategy });
    const pending = firstValueFrom(proxy.send('slow', {}));
    const a = testEndpoint('svc', 'a', 1000);
    expect(strategy.outstanding(a)).toBe(1);
    reply.next('done');
    await pending;
    expect(strategy.outstanding(a)).toBe(0);
  });

  it("tells a learning strategy each answer's response time (even a handler error), none for a refusal", async () => {
    const finished: string[] = [];
    const strategy = new LeastOutstandingStrategy(() => 0);
    strategy.callFinished = (endpoint: ServiceEndpoint, responseMs?: number) =>
      void finished.push(
        `${endpoint.id} ${responseMs === undefined ? 'no answer' : responseMs >= 20 ? 'answered' : 'too soon'}`,
      );
    const late = (make: () => Observable<any>) => () =>
      new Observable<any>((subscriber) => {
        const timer = setTimeout(() => make().subscribe(subscriber), 25);
        return () => clearTimeout(timer);
      });
    const { proxy } = await proxyFor(['a', 'b'], { a: refused, b: late(answers('from b')) }, { strategy });
    expect(await firstValueFrom(proxy.send('ping', {}))).toBe('from b');
    const failing = await proxyFor(
      ['c'],
      { c: late(() => throwError(() => ({ status: 'error', message: 'no' }))) },
      { strategy },
    );
    await expect(firstValueFrom(failing.proxy.send('ping', {}))).rejects.toEqual({ status: 'error', message: 'no' });
    expect(finished).toEqual(['a no answer', 'b answered', 'c answered']);
  });

  it('fails with NoEndpointAvailableError when the service has no instance', async () => {
    const { proxy, calls } = await proxyFor([], {});
    await expect(firstValueFrom(proxy.send('ping', {}))).rejects.toThrow(NoEndpointAvailableError);
    expect(calls).toEqual([]);
  });
});
