import { type AppMessage, AppProcesses, EtcdServer, namespaces } from '@repo/testing';

// A provider app and a consumer app, each its own process, as in production.
const ttl = 2;
let etcd: EtcdServer;
const apps = new AppProcesses(() => ({ ETCD_HOSTS: etcd.host }));
const freshNamespace = namespaces('processes');

beforeAll(async () => {
  etcd = await EtcdServer.start();
});
afterEach(() => apps.stopAll());
afterAll(async () => {
  await etcd.destroy();
});

const start = (fixture: string, config: object) => apps.start(fixture, config);

type Endpoints = { id: string; address: string; metadata: Record<string, string> }[];
const listOf = (message: AppMessage) => message.endpoints as Endpoints;

describe('a consumer process follows a provider process', () => {
  it.each([
    // The only instance: its removal is all of the service, held by self-preservation until a list
    // read confirmMs (3 s) later confirms it. A SIGTERM turns it draining first: never held.
    ['kill -9', 'SIGKILL' as const, (ttl + 1) * 1000 + 3000],
    ['SIGTERM', 'SIGTERM' as const, 1000],
  ])('sees it appear with its metadata, and disappear within the bound after %s', async (_how, signal, boundMs) => {
    const namespace = freshNamespace();
    const consumer = start('consumer-app', { services: ['provider'], discovery: { namespace, ttl } });
    await consumer.waitForMessage('endpoints', 15_000, (message) => listOf(message).length === 0);
    const provider = start('discoverable-app', {
      transport: 'http',
      services: [{ name: 'provider', options: { metadata: { color: 'blue' }, version: '3.1.0' } }],
      discovery: { namespace, ttl },
    });
    const registered = await provider.waitForMessage(
      'registration',
      15_000,
      (message) => message.type === 'registered',
    );
    const address = (registered.endpoint as { address: string }).address;
    const seen = await consumer.waitForMessage('endpoints', 5000, (message) => listOf(message).length === 1);
    expect(listOf(seen)[0]).toMatchObject({ address, metadata: { color: 'blue' }, version: '3.1.0' });

    const stoppedAt = Date.now();
    provider.kill(signal);
    const gone = await consumer.waitForMessage(
      'endpoints',
      boundMs + 2000,
      (message) => (message.at as number) > stoppedAt && listOf(message).length === 0,
    );
    expect((gone.at as number) - stoppedAt).toBeLessThanOrEqual(boundMs);
  });

  it('completes every observable at shutdown and leaves nothing open: the process exits by itself', async () => {
    const consumer = start('consumer-app', {
      services: ['a', 'b'],
      discovery: { namespace: freshNamespace() },
      closeAfterMs: 300,
    });
    await consumer.waitForMessage('closed');
    expect(
      consumer.messages
        .filter((message) => message.event === 'completed')
        .map((message) => message.service)
        .sort(),
    ).toEqual(['a', 'b']);
    expect(await consumer.exited()).toEqual({ code: 0, signal: null });
  });
});
