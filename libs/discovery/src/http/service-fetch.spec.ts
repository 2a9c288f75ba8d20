import { Logger, type INestApplicationContext } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { freePort, makeCertificates, waitFor } from '@repo/testing';
import { readFile, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { DiscoveryClient } from '../discovery/discovery-client.js';
import { CallTimeoutError } from '../errors.js';
import { DiscoveryTestingModule, InMemoryRegistry } from '../testing/index.js';

/** discovery.fetch() against real HTTP servers on loopback, registered as instances of "svc" in an in-memory etcd. */
type Handler = (request: IncomingMessage, response: ServerResponse, body: string) => void;
const servers: Server[] = [];
const apps: INestApplicationContext[] = [];
beforeAll(() => Logger.overrideLogger(false));
afterAll(() => Logger.overrideLogger(new Logger()));
afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close()));
  for (const server of servers.splice(0)) server.closeAllConnections?.();
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
});

/** An HTTP server answering with `handler` (the request body read first); resolves with its port. */
async function instance(handler: Handler, server: Server = createServer()): Promise<number> {
  server.on('request', (request: IncomingMessage, response: ServerResponse) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => handler(request, response, body));
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

const answer =
  (name: string): Handler =>
  (request, response, body) =>
    response.end(JSON.stringify({ name, method: request.method, url: request.url, body }));
const unavailable =
  (retryAfter?: string): Handler =>
  (_request, response) => {
    response.writeHead(503, retryAfter ? { 'retry-after': retryAfter } : {});
    response.end('busy');
  };
const hang: Handler = () => undefined;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** Round robin: makes the next call of `discovery` start on the instance at `port`. */
function aim(discovery: DiscoveryClient, port: number, instances: number): void {
  const order = Array.from({ length: instances }, () => discovery.pick('svc').port);
  const before = order[(order.indexOf(port) + order.length - 1) % order.length];
  while (discovery.pick('svc').port !== before);
}

async function discoveryOf(ports: number[], calls = {}, outlierEjection?: false) {
  const endpoints = { svc: ports.map((port) => `127.0.0.1:${port}`) };
  const app = await (
    await Test.createTestingModule({
      imports: [DiscoveryTestingModule.forRoot({ endpoints, calls, outlierEjection })],
    }).compile()
  ).init();
  apps.push(app);
  return { discovery: app.get(DiscoveryClient), registry: app.get(InMemoryRegistry) };
}

describe('DiscoveryClient.fetch()', () => {
  it('sends the request to an instance of the service the host names: path, query, method, body as given', async () => {
    const { discovery } = await discoveryOf([await instance(answer('one'))]);
    const response = await discovery.fetch('http://svc/lines?day=1', {
      method: 'POST',
      body: 'hello',
      headers: { 'content-type': 'text/plain' },
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ name: 'one', method: 'POST', url: '/lines?day=1', body: 'hello' });
  });

  it('retries a GET answered 503 on another instance, and keeps one that said Retry-After out of picks', async () => {
    const busy = await instance(unavailable('30'));
    const { discovery } = await discoveryOf([busy, await instance(answer('ok'))], { hedge: false });
    for (let call = 0; call < 4; call += 1) {
      const response = await discovery.fetch('http://svc/');
      expect(response.status).toBe(200);
      expect(((await response.json()) as { name: string }).name).toBe('ok');
    }
    expect(new Set(Array.from({ length: 6 }, () => discovery.pick('svc').port))).toEqual(
      new Set([discovery.getEndpoints('svc').find((endpoint) => endpoint.port !== busy)!.port]),
    );
  });

  it('does not retry a POST that reached an instance (its 503 is the answer); it does retry one refused', async () => {
    const { discovery: answered } = await discoveryOf([await instance(unavailable())], { hedge: false });
    expect((await answered.fetch('http://svc/', { method: 'POST', body: 'x' })).status).toBe(503);
    const closed = await freePort();
    const { discovery } = await discoveryOf([closed, await instance(answer('up'))], { hedge: false });
    for (let call = 0; call < 2; call += 1) {
      const response = await discovery.fetch('http://svc/', { method: 'POST', body: 'x' });
      expect(((await response.json()) as { name: string }).name).toBe('up');
    }
  });

  it('a hung instance: a GET goes elsewhere (hedged, then timed out); a POST: CallTimeoutError, no retry', async () => {
    const frozen = await instance(hang);
    // Without ejection: the frozen instance stays in the rotation, so that the POSTs meet it too.
    const { discovery } = await discoveryOf(
      [frozen, await instance(answer('alive'))],
      { attemptTimeoutMs: 200, hedge: { afterMs: 20 } },
      false,
    );
    for (let call = 0; call < 4; call += 1)
      expect(((await (await discovery.fetch('http://svc/')).json()) as { name: string }).name).toBe('alive');
    const posts = await Promise.all(
      [1, 2].map(() =>
        discovery.fetch('http://svc/', { method: 'POST', body: 'x' }).then(
          (response) => response.status,
          (error: unknown) => error,
        ),
      ),
    );
    // Round robin: one of the two went to the frozen instance.
    expect(posts.filter((result) => result === 200)).toHaveLength(1);
    expect(posts.find((result) => result !== 200)).toBeInstanceOf(CallTimeoutError);
  });

  it("a hedge's loser finishes on its connection; a silent one is aborted at its attempt timeout", async () => {
    const slowServer = createServer();
    let slowConnections = 0;
    slowServer.on('connection', () => (slowConnections += 1));
    const slow = await instance((_request, response) => void setTimeout(() => response.end('late'), 60), slowServer);
    const { discovery } = await discoveryOf(
      [slow, await instance(answer('fast'))],
      { attemptTimeoutMs: 300, hedge: { afterMs: 10 } },
      false,
    );
    // Round robin: every other call starts on the slow instance, and its hedge wins.
    for (let call = 0; call < 8; call += 1) {
      expect(((await (await discovery.fetch('http://svc/')).json()) as { name: string }).name).toBe('fast');
      await sleep(100); // the loser's answer has come and been read
    }
    expect(slowConnections).toBe(1);

    const hungServer = createServer();
    const closedAt: number[] = [];
    hungServer.on('connection', (socket) => socket.on('close', () => closedAt.push(performance.now())));
    const [hung, alive] = [await instance(hang, hungServer), await instance(answer('alive'))];
    const { discovery: hedging } = await discoveryOf(
      [hung, alive],
      { attemptTimeoutMs: 300, hedge: { afterMs: 10 } },
      false,
    );
    while (hedging.pick('svc').port !== alive); // round robin: the next call starts on the hung instance
    const answeredAt = await hedging.fetch('http://svc/').then(() => performance.now());
    await waitFor('the loser aborted', () => closedAt.length === 1, { timeoutMs: 2000 });
    // Its attempt began about 10 ms before the answer: aborted at its attempt timeout, not with the call.
    expect(closedAt[0] - answeredAt).toBeGreaterThan(200);
  });

  it('ejection: one slow to answer, losing to hedges, is let back in by its answers; a hung one stays', async () => {
    // An instance just started (cold) answers its first requests slower than its warm peers: hedges win, and each
    // loser silent past its delay counts as a timeout; 3 in a row eject it. Its answers, which come all the same, end
    // that at once (CI: an instance just undrained, ejected so, was not called for 10 s).
    const slow = await instance((_request, response) => void setTimeout(() => response.end('late'), 200));
    const { discovery } = await discoveryOf([slow, await instance(answer('fast'))], {
      attemptTimeoutMs: 1000,
      hedge: { afterMs: 10 },
    });
    for (let call = 0; call < 3; call += 1) {
      aim(discovery, slow, 2);
      await (await discovery.fetch('http://svc/')).text();
    }
    await sleep(400); // every loser has answered
    expect([discovery.pick('svc').port, discovery.pick('svc').port]).toContain(slow);

    const hung = await instance(hang);
    const { discovery: hedging } = await discoveryOf([hung, await instance(answer('alive'))], {
      attemptTimeoutMs: 1000,
      hedge: { afterMs: 10 },
    });
    for (let call = 0; call < 3; call += 1) {
      aim(hedging, hung, 2);
      await (await hedging.fetch('http://svc/')).text();
    }
    // Ejected at once, before any attempt timeout: every caller avoids it from the third lost hedge on.
    const picks = Array.from({ length: 4 }, () => hedging.pick('svc').port);
    expect(picks).not.toContain(hung);
  });

  it('a hedge neither grows a pool in use nor takes its last idle connection: another instance, or none', async () => {
    const connections = new Map<number, number>();
    const requests = new Map<number, number>();
    const counted = (handler: Handler) => {
      const server = createServer();
      server.on('connection', (socket) =>
        connections.set(socket.localPort!, (connections.get(socket.localPort!) ?? 0) + 1),
      );
      server.on('request', (request: IncomingMessage) =>
        requests.set(request.socket.localPort!, (requests.get(request.socket.localPort!) ?? 0) + 1),
      );
      return instance(handler, server);
    };
    const slowly: Handler = (_request, response) =>
      void setTimeout(() => response.end(JSON.stringify({ name: 'busy' })), 150);
    const [hung, busy, idle] = [await counted(hang), await counted(slowly), await counted(answer('idle'))];
    const calls = { attemptTimeoutMs: 300, hedge: { afterMs: 10 } };
    const name = async (response: Promise<Response>) => ((await (await response).json()) as { name: string }).name;

    // Two instances: the other's one connection is busy, so no hedge; the call waits its attempt timeout, then retries.
    const { discovery: two } = await discoveryOf([hung, busy], calls, false);
    aim(two, busy, 2); // the next call starts on the busy instance, the one after on the hung one
    const occupying = name(two.fetch('http://svc/', { idempotent: false })); // not hedged itself
    const startedAt = performance.now();
    const waited = name(two.fetch('http://svc/'));
    await sleep(100);
    expect([connections.get(busy), requests.get(busy)]).toEqual([1, 1]);
    expect([await occupying, await waited]).toEqual(['busy', 'busy']);
    expect(performance.now() - startedAt).toBeGreaterThanOrEqual(290);
    expect(connections.get(busy)).toBe(1); // the retry went on the connection freed meanwhile

    // Three: the busy one is passed over for the one with an idle connection.
    const { discovery: three } = await discoveryOf([hung, busy, idle], calls, false);
    aim(three, idle, 3);
    expect(await name(three.fetch('http://svc/'))).toBe('idle'); // its connection, idle from now on
    aim(three, busy, 3);
    const requestsBefore = requests.get(busy);
    const occupyingAgain = name(three.fetch('http://svc/', { idempotent: false }));
    while (requests.get(busy) === requestsBefore) await sleep(1); // this app's connection to it is open, and busy
    const [hedgedFrom, connectionsBefore] = [performance.now(), connections.get(busy)];
    aim(three, hung, 3);
    expect(await name(three.fetch('http://svc/'))).toBe('idle');
    expect(performance.now() - hedgedFrom).toBeLessThan(150);
    expect(connections.get(busy)).toBe(connectionsBefore);
    await occupyingAgain;

    // Two instances again, two connections to the busy one and one of them in use: its idle one is for its next
    // call, not a hedge's (the call waits its attempt timeout, then retries).
    const settled = () => sleep(50); // undici counts a connection free a moment after its answer is read
    const openedBefore = connections.get(busy)!;
    aim(two, busy, 2);
    const pair = [name(two.fetch('http://svc/', { idempotent: false }))];
    aim(two, busy, 2);
    pair.push(name(two.fetch('http://svc/', { idempotent: false })));
    expect(await Promise.all(pair)).toEqual(['busy', 'busy']);
    await settled();
    const [pooled, answered] = [connections.get(busy), requests.get(busy)!];
    expect(pooled).toBe(openedBefore + 1); // the one it had, and one more
    aim(two, busy, 2);
    const occupyingOne = name(two.fetch('http://svc/', { idempotent: false }));
    while (requests.get(busy) === answered) await sleep(1);
    aim(two, hung, 2);
    const retriedFrom = performance.now();
    const retried = name(two.fetch('http://svc/'));
    await sleep(100);
    expect([connections.get(busy), requests.get(busy)]).toEqual([pooled, answered + 1]);
    expect([await occupyingOne, await retried]).toEqual(['busy', 'busy']);
    expect(performance.now() - retriedFrom).toBeGreaterThanOrEqual(290);
    expect(connections.get(busy)).toBe(pooled);
  });

  it('opens at most connectionsPerInstance connections to an instance; requests beyond wait', async () => {
    const server = createServer();
    let connections = 0;
    server.on('connection', () => (connections += 1));
    const port = await instance((_request, response) => void setTimeout(() => response.end('ok'), 50), server);
    const { discovery } = await discoveryOf([port], { connectionsPerInstance: 2, hedge: false });
    const startedAt = performance.now();
    const answers = await Promise.all(
      Array.from({ length: 6 }, async () => (await discovery.fetch('http://svc/')).text()),
    );
    expect(answers).toEqual(Array(6).fill('ok'));
    expect(connections).toBe(2);
    // Three rounds of two: the bound held them back, it did not fail them.
    expect(performance.now() - startedAt).toBeGreaterThanOrEqual(140);
  });

  it("a body that stops coming mid-way errors after the call timeout, not undici's 5 minutes", async () => {
    const port = await instance((_request, response) => {
      response.writeHead(200, { 'content-length': '100' });
      response.write('the first half'); // and then nothing
    });
    const { discovery } = await discoveryOf([port], { timeoutMs: 300, attemptTimeoutMs: 200 });
    const response = await discovery.fetch('http://svc/');
    const startedAt = Date.now();
    await expect(response.text()).rejects.toThrow();
    expect(Date.now() - startedAt).toBeLessThan(5_000);
  });

  it('sends a stream body once: never retried, even when refused', async () => {
    const closed = await freePort();
    const { discovery } = await discoveryOf([closed], { hedge: false });
    const body = Readable.toWeb(Readable.from(['a', 'b'])) as ReadableStream;
    await expect(discovery.fetch('http://svc/', { method: 'PUT', body, duplex: 'half' })).rejects.toThrow(
      /fetch failed/,
    );
  });

  it('closes the connections of an instance that leaves the list', async () => {
    const port = await instance(answer('leaving'));
    const server = servers.at(-1)!;
    const { discovery, registry } = await discoveryOf([port]);
    await (await discovery.fetch('http://svc/')).text();
    const open = () => new Promise<number>((resolve) => server.getConnections((_error, count) => resolve(count)));
    expect(await open()).toBe(1); // kept alive
    await registry.remove('svc', `127.0.0.1:${port}`);
    await waitFor('its keep-alive connection to close', async () => (await open()) === 0);
  });

  it("https:// speaks TLS with the service's name as the server name", async () => {
    const certificates = await makeCertificates();
    try {
      const [key, cert, ca] = await Promise.all([
        readFile(certificates.keyFile),
        readFile(certificates.certFile),
        readFile(certificates.caFile),
      ]);
      const port = await instance(answer('secure'), createTlsServer({ key, cert }));
      const { discovery } = await discoveryOf([port]);
      const response = await discovery.fetch('https://svc/', { tls: { ca } });
      expect(((await response.json()) as { name: string }).name).toBe('secure');
    } finally {
      await rm(certificates.dir, { recursive: true, force: true });
    }
  });

  it('with every instance answering 503, retries stay within the budget: attempts per call ≤ 1 + 20 %', async () => {
    const ports = await Promise.all([1, 2, 3].map(() => instance(unavailable())));
    const { discovery } = await discoveryOf(ports, { hedge: false }, false);
    let calls = 0;
    // 1,500 calls in batches of 50: enough that 20 % of them (300) is more than the floor (10 a second over 10 s).
    for (let batch = 0; batch < 30; batch += 1) {
      const statuses = await Promise.all(
        Array.from({ length: 50 }, () =>
          discovery.fetch('http://svc/').then((response) => (response.body?.cancel(), response.status)),
        ),
      );
      expect(statuses.every((status) => status === 503)).toBe(true); // the last answer is the result
      calls += statuses.length;
    }
    const attempts = discovery.callCounts.snapshot().reduce((sum, counts) => sum + counts.calls, 0);
    console.log(
      `[measured] every instance answering 503: ${calls} calls made ${attempts} attempts, ` +
        `${(attempts / calls).toFixed(3)} per call (budget: 20 % of calls, at least 10/s)`,
    );
    expect(attempts / calls).toBeLessThanOrEqual(1.2 + 0.01);
    expect(attempts / calls).toBeGreaterThan(1.1); // the budget was used, not merely never asked
  });

  it('rejects a URL that names no service clearly', async () => {
    const { discovery } = await discoveryOf([await freePort()]);
    await expect(discovery.fetch('ftp://svc/')).rejects.toThrow(
      /give an http:\/\/ or https:\/\/ URL whose host is the service's name/,
    );
  });
});
