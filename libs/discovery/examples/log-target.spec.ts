import { Injectable } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { DiscoveryClient, InjectDiscovery } from 'nestjs-etcd-discovery';
import { DiscoveryTestingModule, InMemoryRegistry } from 'nestjs-etcd-discovery/testing';

// The code under test: a provider of the user's app that picks a log-service instance per call.
@Injectable()
class LogTarget {
  constructor(@InjectDiscovery() private readonly discovery: DiscoveryClient) {}

  url(): string {
    return `http://${this.discovery.pick('log-service').address}/log`;
  }
}

describe('LogTarget', () => {
  it('spreads calls over the live log-service instances, and follows them', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [DiscoveryTestingModule.forRoot({ endpoints: { 'log-service': ['127.0.0.1:3001', '127.0.0.1:3002'] } })],
      providers: [LogTarget],
    }).compile();
    await moduleRef.init(); // reads the lists, as an app's bootstrap does
    const target = moduleRef.get(LogTarget);
    expect([target.url(), target.url()]).toEqual(['http://127.0.0.1:3001/log', 'http://127.0.0.1:3002/log']);

    // An instance leaves and another joins, as if their apps stopped and started.
    const registry = moduleRef.get(InMemoryRegistry);
    await registry.remove('log-service', '127.0.0.1:3001');
    await registry.add('log-service', '127.0.0.1:3003');
    expect(new Set([target.url(), target.url()])).toEqual(
      new Set(['http://127.0.0.1:3002/log', 'http://127.0.0.1:3003/log']),
    );
    await moduleRef.close();
  });
});
