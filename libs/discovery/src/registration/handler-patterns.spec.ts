import { Controller, Injectable, Module } from '@nestjs/common';
import { EventPattern, GrpcMethod, MessagePattern } from '@nestjs/microservices';
import { Test } from '@nestjs/testing';
import { DiscoveryModule } from '../discovery.module.js';
import { Discoverable } from './discoverable.decorator.js';
import { DiscoverableExplorer } from './discoverable.explorer.js';
import { normalisedPattern } from '../codec/normalised-pattern.js';
import { handlerPatterns } from './handler-patterns.js';

@Controller()
class Orders {
  @MessagePattern('orders.get')
  get() {}

  @MessagePattern({ cmd: 'sum', v: 2 })
  sum() {}

  @MessagePattern(['orders.list', 'orders.find'])
  list() {}

  @EventPattern('order.placed')
  placed(_event: unknown) {}

  @GrpcMethod('Orders', 'Stream')
  grpc(_data: unknown) {}

  notAHandler() {}
}

@Controller()
class Audit {
  @EventPattern({ topic: 'audit', kind: 'write' })
  record(_event: unknown) {}
}

describe('handlerPatterns', () => {
  it('reads message and event patterns in the form Nest routes them, leaving gRPC methods out', () => {
    expect(handlerPatterns([Orders, Audit])).toEqual({
      patterns: ['orders.find', 'orders.get', 'orders.list', '{"cmd":"sum","v":2}'],
      events: ['order.placed', '{"kind":"write","topic":"audit"}'],
    });
  });

  it('normalises a pattern as a ClientProxy sends it: object keys sorted, strings as they are', () => {
    expect(normalisedPattern({ v: 2, cmd: 'sum' })).toBe('{"cmd":"sum","v":2}');
    expect(normalisedPattern('log.append')).toBe('log.append');
    expect(normalisedPattern(7)).toBe('7');
  });
});

describe('the patterns a @Discoverable() declaration publishes', () => {
  const options = { etcd: { hosts: ['127.0.0.1:1'] }, namespace: '/unit' };

  async function declarations(module: { controllers?: unknown[]; providers?: unknown[] }) {
    const moduleRef = await Test.createTestingModule({
      imports: [DiscoveryModule.forRoot(options)],
      ...(module as object),
    }).compile();
    const found = moduleRef
      .get(DiscoverableExplorer)
      .declarations.map(({ name, patterns, events }) => ({ name, patterns, events }));
    await moduleRef.close();
    return found.sort((a, b) => a.name.localeCompare(b.name));
  }

  it("a class with handlers publishes its own; one without stands for the app, publishing the others'", async () => {
    @Discoverable('orders', { port: 1 })
    @Controller()
    class DiscoverableOrders extends Orders {}
    @Discoverable('whole-app', { port: 2 })
    @Injectable()
    class AppService {}
    expect(await declarations({ controllers: [DiscoverableOrders, Audit], providers: [AppService] })).toEqual([
      {
        name: 'orders',
        patterns: ['orders.find', 'orders.get', 'orders.list', '{"cmd":"sum","v":2}'],
        events: ['order.placed'],
      },
      { name: 'whole-app', patterns: [], events: ['{"kind":"write","topic":"audit"}'] },
    ]);
  });

  it('publishes nothing with publishPatterns: false', async () => {
    @Discoverable('quiet', { port: 1, publishPatterns: false })
    @Controller()
    class Quiet extends Orders {}
    expect(await declarations({ controllers: [Quiet] })).toEqual([{ name: 'quiet', patterns: [], events: [] }]);
  });

  it('rejects a publishPatterns that is not a boolean', async () => {
    @Discoverable('bad', { port: 1, publishPatterns: 'no' as never })
    @Module({})
    class Bad {}
    await expect(declarations({ providers: [Bad] })).rejects.toThrow(
      'Invalid `publishPatterns` "no" in @Discoverable() on Bad: true (the default) or false.',
    );
  });
});
