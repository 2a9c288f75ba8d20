import { Test } from '@nestjs/testing';
import { DiscoveryClient } from 'nestjs-etcd-discovery';
import { DiscoveryTestingModule, InMemoryRegistry } from 'nestjs-etcd-discovery/testing';
import { firstValueFrom } from 'rxjs';

it('knows which services handle a pattern, instance by instance', async () => {
  const moduleRef = await Test.createTestingModule({
    imports: [
      DiscoveryTestingModule.forRoot({
        endpoints: {
          'log-service': [{ host: '10.0.0.5', port: 3001, patterns: ['log.append'], events: ['grade.recorded'] }],
          'audit-service': [{ host: '10.0.0.6', port: 3002, events: ['grade.recorded'] }],
        },
      }),
    ],
  }).compile();
  const app = await moduleRef.init();
  const discovery = app.get(DiscoveryClient);
  await discovery.watchCatalog();

  expect(discovery.whoHandles('log.append')).toEqual(['log-service']);
  expect(discovery.whoHandles('grade.recorded', 'event')).toEqual(['audit-service', 'log-service']);

  // A rolling deploy: a second log-service instance that also answers log.search.
  await app
    .get(InMemoryRegistry)
    .add('log-service', { host: '10.0.0.7', port: 3001, patterns: ['log.append', 'log.search'] });
  const { services } = await firstValueFrom(discovery.catalog$());
  const logService = services.find((service) => service.service === 'log-service')!;
  expect(logService.patterns).toEqual(['log.append', 'log.search']);
  expect(logService.consistent).toBe(false); // only 10.0.0.7 answers log.search: calls by pattern go there
  await app.close();
});
