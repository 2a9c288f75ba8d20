import { Controller, Get, Logger } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { waitFor } from '@repo/testing';
import { RESOLVED_DISCOVERY_OPTIONS } from './discovery.constants.js';
import { DiscoveryModule } from './discovery.module.js';
import { EtcdGateway } from './etcd/etcd-gateway.js';
import { Discoverable } from './registration/discoverable.decorator.js';
import { InMemoryEtcd } from './testing/in-memory-etcd.js';

@Discoverable('ordered', { host: '127.0.0.1' })
@Controller()
class OrderedController {
  @Get()
  hello() {
    return 'hello';
  }
}

beforeAll(() => Logger.overrideLogger(false));
afterAll(() => Logger.overrideLogger(new Logger()));

describe('shutdown order', () => {
  it('each owner closes itself: lease revoked (report too), server closed, watches stopped, etcd last', async () => {
    const etcd = new InMemoryEtcd();
    const moduleRef = await Test.createTestingModule({
      imports: [DiscoveryModule.forRoot({ etcd: { hosts: ['in-memory:0'] }, requires: ['peer'] })],
      controllers: [OrderedController],
    })
      // Injected as the real gateway is (from the resolved options), so that Nest orders it the same way.
      .overrideProvider(EtcdGateway)
      .useFactory({ factory: () => etcd, inject: [RESOLVED_DISCOVERY_OPTIONS] })
      .compile();
    const app = moduleRef.createNestApplication({ logger: false });
    await app.listen(0, '127.0.0.1');
    await waitFor('the registration', () => etcd.contents('/services/ordered/').size === 1);
    app.getHttpServer().on('close', () => etcd.log.push('server closed'));

    await app.close();
    const milestones = etcd.log.filter((line) =>
      /^(revoke|server closed|cancel watch \/services\/peer\/|close)/.test(line),
    );
    expect(milestones).toEqual(['revoke 1', 'server closed', 'cancel watch /services/peer/', 'close']);
    // The app's report of the traffic policies it applies rides on the same lease: one lease for all.
    expect(etcd.log.filter((line) => line.startsWith('grant'))).toEqual(['grant 1']);
    expect(etcd.log.some((line) => line.startsWith('put /services.policy-applied/'))).toBe(true);
    expect(etcd.contents().size).toBe(0);
  });
});
