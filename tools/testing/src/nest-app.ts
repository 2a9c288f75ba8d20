import { Controller, Get, Module, type INestApplication, type Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import {
  Discoverable,
  DiscoveryModule,
  type DiscoverableOptions,
  type DiscoveryModuleOptions,
} from 'nestjs-etcd-discovery';

@Controller()
class PingController {
  @Get()
  ping() {
    return 'pong';
  }
}

/** A root module with DiscoveryModule.forRoot(options) and one @Discoverable() provider per service. */
export function appModule(options: DiscoveryModuleOptions, services: [string, DiscoverableOptions?][] = []): Type {
  const providers = services.map(([name, declared], index) => {
    const serviceClass = { [`Service${index}`]: class {} }[`Service${index}`];
    Discoverable(name, declared)(serviceClass);
    return serviceClass;
  });
  @Module({ imports: [DiscoveryModule.forRoot(options)], controllers: [PingController], providers })
  class TestAppModule {}
  return TestAppModule;
}

/**
 * HTTP apps inside the test process, for tests where a separate process adds nothing; every app
 * started through `start` is closed by `closeAll` (call it in afterEach).
 */
export class NestApps {
  private readonly apps: INestApplication[] = [];

  async start(module: Type, port = 0): Promise<INestApplication> {
    const app = await NestFactory.create(module, { logger: false, abortOnError: false });
    this.apps.push(app);
    await app.listen(port, '127.0.0.1');
    return app;
  }

  async closeAll(): Promise<void> {
    await Promise.all(this.apps.splice(0).map((app) => app.close()));
  }
}

export function httpPort(app: INestApplication): number {
  return (app.getHttpServer().address() as { port: number }).port;
}
