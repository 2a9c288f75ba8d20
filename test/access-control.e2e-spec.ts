import { Module, type INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { readFile, rm } from 'node:fs/promises';
import {
  DiscoveryClient,
  DiscoveryError,
  DiscoveryModule,
  ServiceRegistry,
  type DiscoveryModuleOptions,
} from 'nestjs-etcd-discovery';
import { AppProcess, CapturingLogger, EtcdServer, makeCertificates, waitFor } from '@repo/testing';

const contexts: INestApplicationContext[] = [];
const processes: AppProcess[] = [];
afterEach(async () => {
  await Promise.all(contexts.splice(0).map((context) => context.close()));
  await Promise.all(processes.splice(0).map((app) => app.stop()));
});

async function context(options: DiscoveryModuleOptions, logger = new CapturingLogger()) {
  @Module({ imports: [DiscoveryModule.forRoot(options)] })
  class AccessModule {}
  const app = await NestFactory.createApplicationContext(AccessModule, { logger, abortOnError: false });
  contexts.push(app);
  return app;
}

const SERVICE_PASSWORD = 'svc-S3cret-pw';
const READER_PASSWORD = 'reader-S3cret-pw';

describe('etcd with authentication', () => {
  let etcd: EtcdServer;
  const root = ['--user', 'root:root-S3cret-pw'];

  beforeAll(async () => {
    etcd = await EtcdServer.start();
    await etcd.etcdctl('user', 'add', 'root', '--new-user-password=root-S3cret-pw', '--interactive=false');
    // "svc" may read and write /services/ and nothing else; "reader" may only read it.
    await etcd.etcdctl('role', 'add', 'services-rw');
    await etcd.etcdctl('role', 'grant-permission', '--prefix=true', 'services-rw', 'readwrite', '/services/');
    await etcd.etcdctl('user', 'add', 'svc', `--new-user-password=${SERVICE_PASSWORD}`, '--interactive=false');
    await etcd.etcdctl('user', 'grant-role', 'svc', 'services-rw');
    await etcd.etcdctl('role', 'add', 'services-ro');
    await etcd.etcdctl('role', 'grant-permission', '--prefix=true', 'services-ro', 'read', '/services/');
    await etcd.etcdctl('user', 'add', 'reader', `--new-user-password=${READER_PASSWORD}`, '--interactive=false');
    await etcd.etcdctl('user', 'grant-role', 'reader', 'services-ro');
    await etcd.etcdctl('auth', 'enable');
  });
  afterAll(async () => {
    await etcd.destroy();
  });

  it('works with a user whose role may read and write only the namespace prefix, and never logs the password', async () => {
    const auth = { username: 'svc', password: SERVICE_PASSWORD };
    const app = AppProcess.start(
      'discoverable-app',
      { transport: 'http', services: [{ name: 'guarded' }], discovery: { etcd: { auth } } },
      { ETCD_HOSTS: etcd.host },
    );
    processes.push(app);
    const registered = await app.waitForMessage('registration', 15_000, (message) => message.type === 'registered');
    const consumer = await context({ etcd: { hosts: [etcd.host], auth }, requires: ['guarded'] });
    expect(
      consumer
        .get(DiscoveryClient)
        .getEndpoints('guarded')
        .map((endpoint) => endpoint.address),
    ).toEqual([(registered.endpoint as { address: string }).address]);
    expect(await etcd.etcdctl(...root, 'get', '--prefix', '--keys-only', '/services/')).toContain('/services/guarded/');
    expect(app.output).not.toContain(SERVICE_PASSWORD);
  });

  it('fails at start with a clear error for a wrong password, without the password in it', async () => {
    const auth = { username: 'svc', password: 'wrong-S3cret-pw' };
    const app = AppProcess.start(
      'discoverable-app',
      { transport: 'http', services: [{ name: 'guarded' }], discovery: { etcd: { auth } } },
      { ETCD_HOSTS: etcd.host },
    );
    processes.push(app);
    const failure = await app.waitForMessage('error');
    expect(failure.name).toBe('EtcdUnavailableError');
    expect(failure.message).toMatch(
      /refused the request \(.*authentication failed.*\)\. Check `etcd\.auth` \(user and password\)/,
    );
    // One family to catch, and etcd's own error kept as the cause.
    expect(failure.code).toBe('ETCD_UNAVAILABLE');
    expect(failure.cause).toMatchObject({ message: expect.stringMatching(/authentication failed/) });
    expect(await app.exited()).toEqual({ code: 1, signal: null });
    expect(JSON.stringify(app.messages) + app.output).not.toContain('wrong-S3cret-pw');
  });

  it('fails at start with a clear error naming the key range for a user who may not write it', async () => {
    const auth = { username: 'reader', password: READER_PASSWORD };
    const app = AppProcess.start(
      'discoverable-app',
      { transport: 'http', services: [{ name: 'guarded-write' }], discovery: { etcd: { auth } } },
      { ETCD_HOSTS: etcd.host },
    );
    processes.push(app);
    const failure = await app.waitForMessage('error');
    expect(failure.name).toBe('EtcdUnavailableError');
    expect(failure.message).toMatch(
      /refused the request \(.*permission denied.*\).*may read and write the key range "\/services\/guarded-write\/"/,
    );
    expect(JSON.stringify(app.messages) + app.output).not.toContain(READER_PASSWORD);
    // The check wrote nothing.
    expect(await etcd.etcdctl(...root, 'get', '--prefix', '--keys-only', '/services/guarded-write/')).toBe('');
  });

  it('lets a read-only user discover, and refuses it outside its prefix with the key range in the error', async () => {
    const auth = { username: 'reader', password: READER_PASSWORD };
    const consumer = await context({ etcd: { hosts: [etcd.host], auth }, requires: ['guarded-write'] });
    expect(consumer.get(DiscoveryClient).getEndpoints('guarded-write')).toEqual([]);
    await expect(
      context({ etcd: { hosts: [etcd.host], auth }, namespace: '/elsewhere', requires: ['x'] }),
    ).rejects.toThrow(/refused the request \(.*permission denied.*\).*key range "\/elsewhere\/"/);
    const refused = await context({
      etcd: { hosts: [etcd.host], auth },
      namespace: '/elsewhere',
      requires: ['x'],
    }).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(DiscoveryError);
    expect(refused).toMatchObject({
      code: 'ETCD_UNAVAILABLE',
      cause: { message: expect.stringMatching(/permission/) },
    });
  });
});

describe('etcd over TLS', () => {
  let certificates: Awaited<ReturnType<typeof makeCertificates>>;
  let etcd: EtcdServer;

  beforeAll(async () => {
    certificates = await makeCertificates();
    etcd = await EtcdServer.start({ tls: certificates });
  });
  afterAll(async () => {
    await etcd.destroy();
    await rm(certificates.dir, { recursive: true, force: true });
  });

  async function credentials(caFile: string) {
    return {
      rootCertificate: await readFile(caFile),
      certChain: await readFile(certificates.clientCertFile),
      privateKey: await readFile(certificates.clientKeyFile),
    };
  }

  it('registers and discovers over https:// hosts with the CA and a client certificate', async () => {
    const app = await context({
      etcd: { hosts: [etcd.url], credentials: await credentials(certificates.caFile) },
      requires: ['secure'],
    });
    await app.get(ServiceRegistry).register({ service: 'secure', host: '127.0.0.1', port: 4443 });
    await waitFor('the endpoint over TLS', () => app.get(DiscoveryClient).getEndpoints('secure').length === 1);
    expect(await etcd.etcdctl('get', '--prefix', '--keys-only', '/services/secure/')).toContain(
      '/services/secure/127.0.0.1:4443',
    );
  });

  it('fails at start with a clear error when the CA does not match', async () => {
    const options = {
      etcd: { hosts: [etcd.url], credentials: await credentials(certificates.otherCaFile) },
      requires: ['secure'],
      connectTimeoutMs: 2000,
    };
    await expect(context(options)).rejects.toThrow(
      /Could not read the endpoints of the required services "secure" from etcd within 2000 ms \(.*certificate.*\)\. Check .*`etcd\.credentials` \(CA and client certificate\)/,
    );
  });
});

describe('namespaces', () => {
  let etcd: EtcdServer;
  beforeAll(async () => {
    etcd = await EtcdServer.start();
  });
  afterAll(async () => {
    await etcd.destroy();
  });

  it('two namespaces on one etcd, one a prefix of the other, never see each other', async () => {
    const team = await context({ etcd: { hosts: [etcd.host] }, namespace: '/team', requires: ['svc'] });
    const teamB = await context({ etcd: { hosts: [etcd.host] }, namespace: '/team-b', requires: ['svc'] });
    await team.get(ServiceRegistry).register({ service: 'svc', host: '127.0.0.1', port: 1001 });
    await teamB.get(ServiceRegistry).register({ service: 'svc', host: '127.0.0.1', port: 2002 });
    await teamB.get(ServiceRegistry).register({ service: 'only-b', host: '127.0.0.1', port: 2003 });
    await waitFor(
      'each to see its own',
      () =>
        team.get(DiscoveryClient).getEndpoints('svc').length === 1 &&
        teamB.get(DiscoveryClient).getEndpoints('svc').length === 1,
    );
    expect(
      team
        .get(DiscoveryClient)
        .getEndpoints('svc')
        .map((endpoint) => endpoint.port),
    ).toEqual([1001]);
    expect(
      teamB
        .get(DiscoveryClient)
        .getEndpoints('svc')
        .map((endpoint) => endpoint.port),
    ).toEqual([2002]);
    const names: (readonly string[])[] = [];
    const subscription = team
      .get(DiscoveryClient)
      .services$()
      .subscribe((list) => names.push(list));
    await waitFor('the service names', () => names.length > 0);
    subscription.unsubscribe();
    expect(names.at(-1)).toEqual(['svc']);
  });
});
