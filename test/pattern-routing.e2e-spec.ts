import { Inject, Injectable, Module, type INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { ClientProxy } from '@nestjs/microservices';
import { AppProcess, CapturingLogger, EtcdServer, readKeys, waitFor } from '@repo/testing';
import type { Etcd3 } from 'etcd3';
import {
  DiscoveryClient,
  DiscoveryClientsModule,
  DiscoveryModule,
  NoEndpointAvailableError,
  type Catalog,
} from 'nestjs-etcd-discovery';
import { firstValueFrom, lastValueFrom, timeout } from 'rxjs';

// Routing by pattern with real processes: two services (Nest TCP microservices whose handlers are
// @MessagePattern / @EventPattern), a caller with one `byPattern` client, and a rolling change of
// the handlers of one service while calls go on.
let etcd: EtcdServer;
let client: Etcd3;
let caller: INestApplicationContext;
let bus: ClientProxy;
let discovery: DiscoveryClient;
const apps: AppProcess[] = [];
const instanceOptions = { ttl: 3, drainMs: 500, backoff: { initialDelayMs: 100, maxDelayMs: 500 } };

beforeAll(async () => {
  etcd = await EtcdServer.start();
  client = etcd.client();
});
afterAll(async () => {
  await caller?.close();
  await Promise.all(apps.map((app) => app.stop()));
  await etcd.destroy();
});

async function start(service: string, messages: string[], events: string[] = []): Promise<AppProcess> {
  const app = AppProcess.start(
    'pattern-app',
    { service, messages, events, discovery: instanceOptions },
    { ETCD_HOSTS: etcd.host },
  );
  apps.push(app);
  await app.waitForMessage('registration', 15_000, (message) => message.type === 'registered');
  return app;
}

async function startCaller(): Promise<void> {
  @Injectable()
  class Caller {
    constructor(@Inject('BUS') readonly bus: ClientProxy) {}
  }
  @Module({
    imports: [
      DiscoveryModule.forRoot({ etcd: { hosts: [etcd.host] }, selfPreservation: false }),
      DiscoveryClientsModule.register([{ name: 'BUS', byPattern: true }]),
    ],
    providers: [Caller],
  })
  class CallerModule {}
  caller = await NestFactory.createApplicationContext(CallerModule, {
    logger: new CapturingLogger(),
    abortOnError: false,
  });
  bus = caller.get(Caller).bus;
  discovery = caller.get(DiscoveryClient);
}

type Answer = { service: string; pid: number; pattern: string };
const send = (pattern: string) => firstValueFrom(bus.send<Answer>(pattern, {}).pipe(timeout(5000)));
const received = (app: AppProcess, pattern: string) =>
  app.messages.filter((message) => message.event === 'received' && message.pattern === pattern).length;

describe('routing by pattern', () => {
  let orders: AppProcess[];
  let billing: AppProcess;

  it("publishes each instance's handlers in etcd, next to what Go readers use", async () => {
    orders = [
      await start('orders', ['orders.get'], ['order.placed']),
      await start('orders', ['orders.get'], ['order.placed']),
    ];
    billing = await start('billing', ['billing.charge'], ['order.placed']);
    const [stored] = [...(await readKeys(client, '/services/billing/')).values()];
    const value = JSON.parse(stored.value) as { Addr: string; Metadata: Record<string, unknown> };
    expect(value.Addr).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(value.Metadata).toMatchObject({
      patterns: ['billing.charge'],
      events: ['order.placed'],
      registeredAt: expect.any(Number),
    });
  });

  it('sends a message to an instance of the service that handles it, and an event to one instance of each', async () => {
    await startCaller(); // after the services: bootstrap reads the catalog, then their lists
    expect(discovery.whoHandles('orders.get')).toEqual(['orders']);
    expect(discovery.whoHandles('order.placed', 'event')).toEqual(['billing', 'orders']);
    const answers = [];
    for (let call = 0; call < 6; call += 1) answers.push(await send('orders.get'));
    expect(new Set(answers.map((answer) => answer.service))).toEqual(new Set(['orders']));
    expect(new Set(answers.map((answer) => answer.pid))).toEqual(new Set(orders.map((app) => app.child.pid))); // both instances, round robin
    expect((await send('billing.charge')).pid).toBe(billing.child.pid);

    for (let event = 0; event < 4; event += 1)
      await lastValueFrom(bus.emit('order.placed', { event }), { defaultValue: undefined });
    await waitFor(
      '4 events at billing and 4 at orders',
      () =>
        received(billing, 'order.placed') === 4 &&
        orders.reduce((sum, app) => sum + received(app, 'order.placed'), 0) === 4,
    );
    expect(orders.map((app) => received(app, 'order.placed')).sort()).toEqual([2, 2]); // one instance of orders per event, in turn
  });

  it('fails with NoEndpointAvailableError naming the pattern when no service handles it', async () => {
    const failure = send('orders.delete');
    await expect(failure).rejects.toThrow(NoEndpointAvailableError);
    await expect(failure).rejects.toThrow('No service handles message pattern "orders.delete"');
  });

  it('through a rolling change of handlers: a new pattern goes only to the instances that have it, and no call fails', async () => {
    const catalogs: Catalog[] = [];
    const watching = discovery.catalog$().subscribe((catalog) => catalogs.push(catalog));
    const failures: string[] = [];
    let calls = 0;
    let rolling = true;
    const traffic = (async () => {
      while (rolling) {
        calls += 1;
        await send('orders.get').catch((error: Error) => failures.push(error.message));
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    })();

    const v2 = [await start('orders', ['orders.get', 'orders.search'], ['order.placed'])];
    await waitFor('orders.search in the catalog', () => discovery.whoHandles('orders.search').length === 1);
    const ordersNow = () => catalogs.at(-1)!.services.find((service) => service.service === 'orders')!;
    expect(ordersNow().consistent).toBe(false); // 2 instances without orders.search, 1 with it
    for (let call = 0; call < 5; call += 1) expect((await send('orders.search')).pid).toBe(v2[0].child.pid);

    // Replace the old instances one by one (SIGTERM: drained, then gone).
    for (const old of orders) {
      v2.push(await start('orders', ['orders.get', 'orders.search'], ['order.placed']));
      await old.terminate();
    }
    await waitFor('only v2 instances of orders', () => ordersNow().endpoints.length === 3 && ordersNow().consistent);
    const searchedBy = new Set<number>();
    for (let call = 0; call < 6; call += 1) searchedBy.add((await send('orders.search')).pid);
    expect(searchedBy).toEqual(new Set(v2.map((app) => app.child.pid)));

    rolling = false;
    await traffic;
    watching.unsubscribe();
    console.log(
      `[measured] rolling change of orders (2 old instances → 3 new): ${calls} calls of orders.get by pattern, ${failures.length} failed`,
    );
    expect(failures).toEqual([]);
    expect(calls).toBeGreaterThan(50);
  });

  it("keeps a value with 1,000 patterns well inside etcd's request limit", async () => {
    const patterns = Array.from(
      { length: 1000 },
      (_, index) => `inventory.warehouse-${Math.floor(index / 50)}.item-${index}.reserve`,
    );
    await start('wide', patterns);
    const [stored] = [...(await readKeys(client, '/services/wide/')).values()];
    const bytes = Buffer.byteLength(stored.value);
    console.log(
      `[measured] a value with 1,000 message patterns (avg ${Math.round(patterns.join('').length / 1000)} chars): ${bytes} bytes; etcd's default request limit is 1,572,864`,
    );
    expect(bytes).toBeLessThan(100_000);
    await waitFor('the wide service in the catalog', () => discovery.whoHandles(patterns[999]).length === 1);
    expect(discovery.whoHandles(patterns[999])).toEqual(['wide']);
  });
});
