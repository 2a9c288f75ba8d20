import { Injectable, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { RESOLVED_DISCOVERY_OPTIONS } from './discovery.constants.js';
import { DiscoveryModule } from './discovery.module.js';
import { DiscoveryOptionsError } from './errors.js';
import type { DiscoveryModuleOptions } from './options/discovery-module-options.interface.js';
import { Discoverable, type DiscoverableOptions } from './registration/discoverable.decorator.js';
import { DiscoverableExplorer } from './registration/discoverable.explorer.js';
import { ServiceRegistry } from './registration/service-registry.js';

// No @Discoverable() class, so nothing here talks to etcd: these specs cover the module plumbing.
const options: DiscoveryModuleOptions = { etcd: { hosts: ['127.0.0.1:1'] }, namespace: '/unit', ttl: 3 };

@Injectable()
class OptionsFactory {
  createDiscoveryOptions(): DiscoveryModuleOptions {
    return options;
  }
}

@Module({ providers: [OptionsFactory], exports: [OptionsFactory] })
class ConfigModule {}

async function resolvedWith(imports: unknown[]) {
  const moduleRef = await Test.createTestingModule({ imports: imports as never[] }).compile();
  await moduleRef.init();
  const resolved = moduleRef.get(RESOLVED_DISCOVERY_OPTIONS);
  expect(moduleRef.get(ServiceRegistry)).toBeInstanceOf(ServiceRegistry);
  await moduleRef.close();
  return resolved;
}

describe('DiscoveryModule', () => {
  it('forRoot resolves the options with their defaults', async () => {
    expect(await resolvedWith([DiscoveryModule.forRoot(options)])).toMatchObject({
      etcd: { hosts: ['127.0.0.1:1'] },
      namespace: '/unit',
      ttl: 3,
      registration: 'fail-fast',
    });
  });

  it('forRootAsync with useFactory and inject', async () => {
    const imported = DiscoveryModule.forRootAsync({
      imports: [ConfigModule],
      inject: [OptionsFactory],
      useFactory: (factory: OptionsFactory) => factory.createDiscoveryOptions(),
    });
    expect(await resolvedWith([imported])).toMatchObject({ namespace: '/unit' });
  });

  it('forRootAsync with useClass', async () => {
    expect(await resolvedWith([DiscoveryModule.forRootAsync({ useClass: OptionsFactory })])).toMatchObject({ ttl: 3 });
  });

  it('forRootAsync with useExisting', async () => {
    const imported = DiscoveryModule.forRootAsync({ imports: [ConfigModule], useExisting: OptionsFactory });
    expect(await resolvedWith([imported])).toMatchObject({ ttl: 3 });
  });

  it('is global by default, so a feature module injects the registry without importing it', async () => {
    @Injectable()
    class Feature {
      constructor(readonly registry: ServiceRegistry) {}
    }
    @Module({ providers: [Feature] })
    class FeatureModule {}
    const moduleRef = await Test.createTestingModule({
      imports: [DiscoveryModule.forRoot(options), FeatureModule],
    }).compile();
    expect(moduleRef.get(Feature).registry).toBe(moduleRef.get(ServiceRegistry));
    await moduleRef.close();
  });

  it('is always global: isGlobal true passes, false fails at init saying why (forRoot, forRootAsync)', async () => {
    expect(await resolvedWith([DiscoveryModule.forRoot({ ...options, isGlobal: true })])).toMatchObject({ ttl: 3 });
    const notGlobal = new RegExp(
      '`isGlobal: false` in DiscoveryModule\\.forRoot\\(\\)/forRootAsync\\(\\) is not supported: ' +
        'DiscoveryModule is always global',
    );
    for (const imported of [
      DiscoveryModule.forRoot({ ...options, isGlobal: false as never }),
      DiscoveryModule.forRootAsync({ isGlobal: false as never, useFactory: () => options }),
    ]) {
      const init = Test.createTestingModule({ imports: [imported] })
        .compile()
        .then((moduleRef) => moduleRef.init());
      await expect(init).rejects.toThrow(DiscoveryOptionsError);
      await expect(init).rejects.toThrow(notGlobal);
    }
  });

  it('fails at init with the message for a bad option, also through forRootAsync', async () => {
    const imported = DiscoveryModule.forRootAsync({ useFactory: () => ({ ...options, ttl: 0 }) });
    await expect(Test.createTestingModule({ imports: [imported] }).compile()).rejects.toThrow(/Invalid `ttl` 0/);
  });
});

describe('@Discoverable() declarations', () => {
  function appWith(...declared: [string, DiscoverableOptions?][]) {
    const providers = declared.map(([name, declaredOptions], index) => {
      const serviceClass = { [`Declared${index}`]: class {} }[`Declared${index}`];
      Discoverable(name, declaredOptions)(serviceClass);
      return serviceClass;
    });
    return Test.createTestingModule({ imports: [DiscoveryModule.forRoot(options)], providers }).compile();
  }

  it('are found on providers and controllers, a class provided twice counting once', async () => {
    @Discoverable('on-controller', { port: 80 })
    class OnController {}
    @Discoverable('on-provider', { version: '2' })
    class OnProvider {}
    @Module({ providers: [OnProvider], exports: [OnProvider] })
    class Other {}
    const moduleRef = await Test.createTestingModule({
      imports: [DiscoveryModule.forRoot(options), Other],
      controllers: [OnController],
      providers: [OnProvider],
    }).compile();
    const explorer = moduleRef.get(DiscoverableExplorer);
    const found = explorer.declarations.map(({ name, className }) => [name, className]);
    expect(found.sort()).toEqual([
      ['on-controller', 'OnController'],
      ['on-provider', 'OnProvider'],
    ]);
  });

  it('fail at bootstrap when the app has no server and no port is given', async () => {
    const moduleRef = await appWith(['portless']);
    await expect(moduleRef.init()).rejects.toThrow(/Cannot register "portless": no port was given/);
    await moduleRef.close();
  });

  it.each([
    ['a service name with a slash', [['a/b']], /Invalid service name "a\/b" in @Discoverable\(\) on Declared0/],
    ['an empty service name', [['']], /Invalid service name ""/],
    ['a port outside 1..65535', [['svc', { port: 70000 }]], /Invalid `port` 70000 for service "svc"/],
    ['port 0', [['svc', { port: 0 }]], /Invalid `port` 0 for service "svc"/],
    ['an id with a slash', [['svc', { id: 'a/b' }]], /Invalid instance `id` "a\/b" for service "svc"/],
    ['an empty id', [['svc', { id: '' }]], /Invalid instance `id` ""/],
    ['a negative weight', [['svc', { weight: -1 }]], /Invalid `weight` -1/],
    ['non-string metadata', [['svc', { metadata: { n: 1 } as never }]], /Invalid `metadata` for service "svc"/],
    ['a host with a space', [['svc', { host: 'a b' }]], /Invalid `host` "a b"/],
    ['a duplicate service name', [['svc'], ['svc']], /Service "svc" is declared by both Declared0 and Declared1/],
  ] as [string, [string, DiscoverableOptions?][], RegExp][])(
    'reject %s when the providers are created, before init',
    async (_case, declared, message) => {
      const created = appWith(...declared);
      await expect(created).rejects.toThrow(DiscoveryOptionsError);
      await expect(created).rejects.toThrow(message);
    },
  );
});
