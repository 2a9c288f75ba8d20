import { Logger, type INestApplicationContext } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { firstValueFrom, lastValueFrom, of, throwError, toArray } from 'rxjs';
import { NoEndpointAvailableError } from '../errors.js';
import type { ServiceEndpoint } from '../service-endpoint.interface.js';
import { DiscoveryTestingModule, InMemoryRegistry, type TestEndpoint } from '../testing/index.js';
import { checkClientConfig } from './client-config-checks.js';
import { ClientProxyParts } from './client-proxy-parts.js';
import { DiscoveryClientProxy } from './discovery-client-proxy.js';

const apps: INestApplicationContext[] = [];
beforeAll(() => Logger.overrideLogger(false));
afterAll(() => Logger.overrideLogger(new Logger()));
afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close()));
});

const at = (port: number, handles: { patterns?: string[]; events?: string[] }): TestEndpoint => ({
  host: '10.9.0.1',
  port,
  ...handles,
});

/**
 * A client that routes by pattern over the library's real watches and picks on an in-memory etcd; its instance
 * clients are fakes that record who got what, and refuse for the ports in `refusing`.
 */
async function byPatternClient(endpoints: Record<string, TestEndpoint[]>, refusing: number[] = []) {
  const moduleRef = await Test.createTestingModule({
    imports: [DiscoveryTestingModule.forRoot({ endpoints })],
  }).compile();
  const app = await moduleRef.init();
  apps.push(app);
  const received: string[] = [];
  const closed: number[] = [];
  const reach = (endpoint: ServiceEndpoint, pattern: unknown) => {
    if (refusing.includes(endpoint.port))
      return throwError(() => Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }));
    received.push(`${endpoint.service}:${endpoint.port} ${JSON.stringify(pattern)}`);
    return of(`from ${endpoint.port}`);
  };
  const proxy = new DiscoveryClientProxy(
    { byPattern: true, retries: 2 },
    app.get(ClientProxyParts),
    (endpoint) =>
      ({
        send: (pattern: unknown) => reach(endpoint, pattern),
        emit: (pattern: unknown) => reach(endpoint, pattern),
        close: () => void closed.push(endpoint.port),
      }) as never,
  );
  return { proxy, received, closed, registry: app.get(InMemoryRegistry) };
}

describe('a client that routes by pattern', () => {
  it('sends a message to an instance of the service that handles it, round robin among them', async () => {
    const { proxy, received } = await byPatternClient({
      'log-service': [at(1, { patterns: ['log.append'] }), at(2, { patterns: ['log.append'] })],
      'grading-service': [at(3, { patterns: ['grade.compute'] })],
    });
    for (let call = 0; call < 4; call += 1) await firstValueFrom(proxy.send('log.append', {}));
    expect(await firstValueFrom(proxy.send('grade.compute', {}))).toBe('from 3');
    expect(received).toEqual([
      'log-service:1 "log.append"',
      'log-service:2 "log.append"',
      'log-service:1 "log.append"',
      'log-service:2 "log.append"',
      'grading-service:3 "grade.compute"',
    ]);
  });

  it('emits an event to one instance of each service that takes it', async () => {
    const { proxy, received } = await byPatternClient({
      'log-service': [at(1, { events: ['grade.recorded'] }), at(2, { events: ['grade.recorded'] })],
      'audit-service': [at(3, { events: ['grade.recorded'] })],
      'mail-service': [at(4, { events: ['user.created'] })],
    });
    expect(await lastValueFrom(proxy.emit('grade.recorded', {}).pipe(toArray()))).toHaveLength(2);
    expect(received.sort()).toEqual(['audit-service:3 "grade.recorded"', 'log-service:1 "grade.recorded"']);
  });

  it('during a rolling change, routes a pattern only to the instances that have it', async () => {
    const { proxy, received, registry } = await byPatternClient({
      'log-service': [at(1, { patterns: ['log.append'] }), at(2, { patterns: ['log.append'] })],
    });
    await registry.add('log-service', at(2, { patterns: ['log.append', 'log.search'] })); // instance 2 redeployed first
    for (let call = 0; call < 3; call += 1) await firstValueFrom(proxy.send('log.search', {}));
    expect(received).toEqual(Array(3).fill('log-service:2 "log.search"'));
  });

  it('fails over to another instance that handles the pattern when one refuses the connection', async () => {
    const { proxy, received } = await byPatternClient(
      { 'log-service': [at(1, { patterns: ['log.append'] }), at(2, { patterns: ['log.append'] }), at(3, {})] },
      [1],
    );
    expect(await firstValueFrom(proxy.send('log.append', {}))).toBe('from 2');
    expect(received).toEqual(['log-service:2 "log.append"']);
  });

  it("keeps an instance's connection through a change of status, and closes it when the instance leaves", async () => {
    const { proxy, closed, registry } = await byPatternClient({
      'log-service': [at(1, { patterns: ['log.append'] }), at(2, { patterns: ['log.append'] })],
    });
    await firstValueFrom(proxy.send('log.append', {}));
    await registry.add('log-service', { host: '10.9.0.1', port: 1, patterns: ['log.append'], status: 'draining' });
    expect(closed).toEqual([]);
    await registry.remove('log-service', '10.9.0.1:1');
    expect(closed).toEqual([1]);
  });

  it('matches object patterns whatever the order of their keys', async () => {
    const { proxy, received } = await byPatternClient({ math: [at(5, { patterns: ['{"cmd":"sum","v":2}'] })] });
    expect(await firstValueFrom(proxy.send({ v: 2, cmd: 'sum' }, [1, 2]))).toBe('from 5');
    expect(received).toEqual(['math:5 {"v":2,"cmd":"sum"}']);
  });

  it('fails with NoEndpointAvailableError naming the pattern when no instance handles it or can take it', async () => {
    const { proxy } = await byPatternClient({
      'log-service': [
        at(1, { patterns: ['log.append'], events: ['x'] }),
        { host: '10.9.0.1', port: 2, patterns: ['log.search'], status: 'down' },
      ],
    });
    const nobody = firstValueFrom(proxy.send('log.delete', {}));
    await expect(nobody).rejects.toThrow(NoEndpointAvailableError);
    await expect(nobody).rejects.toThrow(
      'No service handles message pattern "log.delete": no instance under the namespace publishes it',
    );
    await expect(nobody).rejects.toMatchObject({ pattern: 'log.delete', service: '' });
    await expect(lastValueFrom(proxy.emit('log.append', {}))).rejects.toThrow(
      'No service handles event pattern "log.append"',
    );
    await expect(firstValueFrom(proxy.send('log.search', {}))).rejects.toThrow(
      'No instance can take message pattern "log.search" now: "log-service" handles it, ' +
        'but none of the instances that publish it may be picked',
    );
  });
});

describe('byPattern entries are checked at init', () => {
  it.each([
    [{ byPattern: true, service: 'svc' }, /entry "E": give either `service` .* or `byPattern: true` .*, not both/],
    [{ byPattern: 'yes' }, /entry "E": `byPattern` must be true or false/],
    [{}, /Invalid service name undefined in DiscoveryClientsModule entry "E"/],
  ])('%j', (config, message) => {
    expect(() => checkClientConfig('E', config as never)).toThrow(message);
  });
});
