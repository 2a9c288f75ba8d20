import { Logger } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import type { InFlightTracker, LoadBalancingStrategy } from '../balancing/load-balancing-strategy.js';
import { RoundRobinStrategy } from '../balancing/round-robin.strategy.js';
import { NoEndpointAvailableError } from '../errors.js';
import type { ServiceEndpoint } from '../service-endpoint.interface.js';
import { DiscoveryTestingModule } from '../testing/index.js';
import { DiscoveryClient } from '../discovery/discovery-client.js';

/** What fetch() throws for a refused connection. */
function fetchFailed(): Error {
  return new TypeError('fetch failed', {
    cause: Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }),
  });
}

async function discoveryOf(
  ports: number[],
  strategy?: LoadBalancingStrategy,
  options: { outlierEjection?: false } = {},
) {
  const endpoints = { svc: ports.map((port) => `127.0.0.1:${port}`) };
  const app = await (
    await Test.createTestingModule({
      imports: [DiscoveryTestingModule.forRoot({ endpoints, strategy, ...options })],
    }).compile()
  ).init();
  return { app, discovery: app.get(DiscoveryClient) };
}

beforeAll(() => Logger.overrideLogger(false));
afterAll(() => Logger.overrideLogger(new Logger()));

describe('DiscoveryClient.call() and outlier ejection', () => {
  it('moves on from an unreachable endpoint, and after 3 failures stops picking it', async () => {
    const { app, discovery } = await discoveryOf([1, 2, 3]);
    const tried: number[] = [];
    const answer = (endpoint: ServiceEndpoint) => {
      tried.push(endpoint.port);
      return endpoint.port === 1 ? Promise.reject(fetchFailed()) : Promise.resolve(`from ${endpoint.port}`);
    };
    const results: string[] = [];
    for (let call = 0; call < 9; call += 1) results.push(await discovery.call('svc', answer));
    expect(results.every((result) => result === 'from 2' || result === 'from 3')).toBe(true); // none failed
    expect(tried.filter((port) => port === 1)).toHaveLength(3); // then ejected
    expect(new Set(Array.from({ length: 6 }, () => discovery.pick('svc').port))).toEqual(new Set([2, 3]));
    expect(discovery.getEndpoints('svc')).toHaveLength(3); // still listed
    await app.close();
  });

  it('keeps round robin with retries taking turns: unejected, a dead one of three gets a third of calls', async () => {
    const { app, discovery } = await discoveryOf([1, 2, 3], undefined, { outlierEjection: false });
    const tried: number[] = [];
    const answered: number[] = [];
    for (let call = 0; call < 30; call += 1) {
      answered.push(
        await discovery.call(
          'svc',
          (endpoint) => (
            tried.push(endpoint.port),
            endpoint.port === 1 ? Promise.reject(fetchFailed()) : Promise.resolve(endpoint.port)
          ),
        ),
      );
    }
    expect(tried.filter((port) => port === 1)).toHaveLength(10);
    expect(answered.filter((port) => port === 2)).toHaveLength(15);
    expect(answered.filter((port) => port === 3)).toHaveLength(15);
    await app.close();
  });

  it('throws an answer that is not a connection failure as it is, without another endpoint', async () => {
    const { app, discovery } = await discoveryOf([1, 2]);
    let calls = 0;
    const refusal = new Error('400 bad request');
    await expect(discovery.call('svc', () => ((calls += 1), Promise.reject(refusal)))).rejects.toBe(refusal);
    expect(calls).toBe(1);
    await app.close();
  });

  it('gives up after `retries` other endpoints, with the last failure', async () => {
    const { app, discovery } = await discoveryOf([1, 2, 3, 4]);
    let calls = 0;
    await expect(
      discovery.call('svc', () => ((calls += 1), Promise.reject(fetchFailed())), { retries: 1 }),
    ).rejects.toThrow('fetch failed');
    expect(calls).toBe(2);
    await expect(discovery.call('nobody', () => Promise.resolve(1))).rejects.toThrow(NoEndpointAvailableError);
    await expect(discovery.call('svc', () => Promise.resolve(1), { retries: -1 })).rejects.toThrow(
      'call("svc") needs `retries` as a whole number ≥ 0',
    );
    await app.close();
  });

  it("tells a learning strategy each call's start and end, with the response time of answers only", async () => {
    const reports: string[] = [];
    class Recording extends RoundRobinStrategy implements InFlightTracker {
      callStarted(endpoint: ServiceEndpoint): void {
        reports.push(`start ${endpoint.port}`);
      }
      callFinished(endpoint: ServiceEndpoint, responseMs?: number): void {
        const outcome =
          responseMs === undefined ? 'no answer' : responseMs >= 20 ? 'answered' : `too soon (${responseMs} ms)`;
        reports.push(`end ${endpoint.port} ${outcome}`);
      }
    }
    const { app, discovery } = await discoveryOf([1, 2], new Recording());
    const slowly = <T>(value: () => Promise<T>) =>
      new Promise<T>((resolve, reject) => setTimeout(() => void value().then(resolve, reject), 25));
    await discovery.call('svc', (endpoint) =>
      endpoint.port === 1 ? Promise.reject(fetchFailed()) : slowly(() => Promise.resolve('ok')),
    );
    await expect(discovery.call('svc', () => slowly(() => Promise.reject(new Error('500'))))).rejects.toThrow('500');
    expect(reports.slice(0, 4)).toEqual(['start 1', 'end 1 no answer', 'start 2', 'end 2 answered']);
    expect(reports.slice(4)).toEqual([
      expect.stringMatching(/^start [12]$/),
      expect.stringMatching(/^end [12] answered$/),
    ]); // an error is an answer
    await app.close();
  });
});
