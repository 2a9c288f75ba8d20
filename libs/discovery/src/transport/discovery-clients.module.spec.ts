import { Inject, Injectable, Logger, Module, type DynamicModule } from '@nestjs/common';
import { ClientProxy, Transport } from '@nestjs/microservices';
import { Test } from '@nestjs/testing';
import { RequiredServices } from '../bootstrap/required-services.js';
import { DiscoveryOptionsError } from '../errors.js';
import { DiscoveryTestingModule } from '../testing/index.js';
import type { DiscoveryClientConfig } from './discovery-client-options.interface.js';
import { DiscoveryClientProxy } from './discovery-client-proxy.js';
import { DiscoveryClientsModule } from './discovery-clients.module.js';

@Injectable()
class ClientConfigs {
  createClientOptions(): DiscoveryClientConfig {
    return { service: 'from-class' };
  }
}

@Module({ providers: [ClientConfigs], exports: [ClientConfigs] })
class ConfigModule {}

/** The clients a provider of the feature module was given, in order. */
const CLIENTS = 'CALLER_CLIENTS';

/** An app with discovery (in memory) in its root module and `clients` in a feature module. */
async function appWith(clients: DynamicModule, names: string[]) {
  @Injectable()
  class Caller {
    constructor(@Inject(CLIENTS) readonly clients: ClientProxy[]) {}
  }
  @Module({
    imports: [clients],
    providers: [Caller, { provide: CLIENTS, useFactory: (...found: ClientProxy[]) => found, inject: names }],
  })
  class FeatureModule {}
  const moduleRef = await Test.createTestingModule({
    imports: [DiscoveryTestingModule.forRoot(), FeatureModule],
  }).compile();
  const app = await moduleRef.init();
  const found = app.get(Caller).clients;
  const required = app.get(RequiredServices).collect();
  await app.close();
  return { found, required };
}

beforeAll(() => Logger.overrideLogger(false));
afterAll(() => Logger.overrideLogger(new Logger()));

describe('DiscoveryClientsModule', () => {
  it('register(): a ClientProxy per entry, in a feature module, each service required from bootstrap', async () => {
    const { found, required } = await appWith(
      DiscoveryClientsModule.register([
        { name: 'LOG', service: 'log-service', transport: Transport.TCP },
        { name: 'GRADES', service: 'grading-service', retries: 0 },
      ]),
      ['LOG', 'GRADES'],
    );
    expect(found.map((client) => client instanceof ClientProxy && client instanceof DiscoveryClientProxy)).toEqual([
      true,
      true,
    ]);
    expect(found.map((client) => (client as DiscoveryClientProxy).service)).toEqual(['log-service', 'grading-service']);
    expect(required.sort()).toEqual(['grading-service', 'log-service']);
  });

  it('registerAsync(): useFactory with inject and imports, useClass, useExisting', async () => {
    const { found, required } = await appWith(
      DiscoveryClientsModule.registerAsync([
        {
          name: 'A',
          imports: [ConfigModule],
          inject: [ClientConfigs],
          useFactory: (configs: ClientConfigs) => ({ service: `${configs.createClientOptions().service}-factory` }),
        },
        { name: 'B', useClass: ClientConfigs },
        { name: 'C', imports: [ConfigModule], useExisting: ClientConfigs },
      ]),
      ['A', 'B', 'C'],
    );
    expect(found.map((client) => (client as DiscoveryClientProxy).service)).toEqual([
      'from-class-factory',
      'from-class',
      'from-class',
    ]);
    expect(required.sort()).toEqual(['from-class', 'from-class-factory']);
  });

  it.each([
    [
      'a broker transport',
      DiscoveryClientsModule.register([{ name: 'R', service: 'svc', transport: Transport.REDIS as never }]),
      /entry "R": transport REDIS is not supported/,
    ],
    [
      'a service name with a slash',
      DiscoveryClientsModule.register([{ name: 'S', service: 'a/b' }]),
      /Invalid service name "a\/b" in DiscoveryClientsModule entry "S"/,
    ],
    [
      'negative retries',
      DiscoveryClientsModule.register([{ name: 'N', service: 'svc', retries: -1 }]),
      /entry "N": `retries` must be a whole number ≥ 0/,
    ],
    [
      'a keyOf that is not a function',
      DiscoveryClientsModule.register([{ name: 'K', service: 'svc', keyOf: 'id' as never }]),
      /entry "K": `keyOf` must be a function/,
    ],
    [
      'a bad entry from a factory',
      DiscoveryClientsModule.registerAsync([{ name: 'F', useFactory: () => ({ service: '' }) }]),
      /Invalid service name "" in DiscoveryClientsModule entry "F"/,
    ],
    [
      'an async entry with no factory',
      DiscoveryClientsModule.registerAsync([{ name: 'E' }]),
      /entry "E": `useFactory, useClass or useExisting` must be given/,
    ],
  ])('fails at init with a clear error for %s', async (_case, clients, message) => {
    const failure = appWith(clients, []);
    await expect(failure).rejects.toThrow(DiscoveryOptionsError);
    await expect(failure).rejects.toThrow(message);
  });
});
