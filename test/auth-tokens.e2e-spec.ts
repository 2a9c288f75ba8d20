import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { INestApplicationContext } from '@nestjs/common';
import { CapturingLogger, EtcdServer, startConsumer, waitFor } from '@repo/testing';
import { ServiceRegistry, type DiscoveryClient } from 'nestjs-etcd-discovery';

// etcd's auth tokens do not live for ever: a simple token is dropped after `--auth-token-ttl` unused,
// a JWT expires at its `exp`, and none survives a restart. An app keeps working past them: a JWT is
// renewed before it expires, a watch refused for a stale token re-opens its stream with a new one,
// and nothing loops — no re-list, no write — when etcd refuses. Counted by etcd (its /metrics).
const ROOT = ['--user', 'root:root-S3cret-pw'];
const auth = { username: 'svc', password: 'svc-S3cret-pw' };
let etcd: EtcdServer;
let app: INestApplicationContext | undefined;
let keysDir: string | undefined;

afterEach(async () => {
  await app?.close();
  app = undefined;
  await etcd.destroy();
  if (keysDir) await rm(keysDir, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const handled = (filter: string) => etcd.metric('grpc_server_handled_total', filter);

/** Starts etcd with `extraArgs`, a user "svc" that may use /services/ only, and authentication on. */
async function startWithAuth(extraArgs: string[]): Promise<void> {
  etcd = await EtcdServer.start({ extraArgs });
  await etcd.etcdctl('user', 'add', 'root', '--new-user-password=root-S3cret-pw', '--interactive=false');
  await etcd.etcdctl('role', 'add', 'services-rw');
  await etcd.etcdctl('role', 'grant-permission', '--prefix=true', 'services-rw', 'readwrite', '/services/');
  await etcd.etcdctl('user', 'add', 'svc', `--new-user-password=${auth.password}`, '--interactive=false');
  await etcd.etcdctl('user', 'grant-role', 'svc', 'services-rw');
  await etcd.etcdctl('auth', 'enable');
}

/** Writes an endpoint with etcdctl as root (one authentication of its own). */
const putAsRoot = (service: string, id: string, port: number) =>
  etcd.etcdctl(
    ...ROOT,
    'put',
    `/services/${service}/${id}`,
    JSON.stringify({ Addr: `127.0.0.1:${port}`, Metadata: { id } }),
  );

const ids = (discovery: DiscoveryClient, service: string) =>
  discovery.getEndpoints(service).map((endpoint) => endpoint.id);

async function startApp(extra: object = {}): Promise<DiscoveryClient> {
  const started = await startConsumer(
    { etcd: { hosts: [etcd.host], auth }, requires: ['tok-a'], ttl: 3, ...extra },
    new CapturingLogger(),
  );
  app = started.app;
  await app.get(ServiceRegistry).register({ service: 'tok-me', host: '127.0.0.1', port: 7400 });
  return started.discovery;
}

describe('etcd auth tokens that expire', () => {
  it('a simple token dropped unused (--auth-token-ttl 2 s), then an etcd restart: a new watch and a write renew it once each, no loop', async () => {
    await startWithAuth(['--auth-token-ttl=2']);
    const discovery = await startApp();
    await sleep(4_000); // at rest: keepalives only, on their stream; the token is dropped meanwhile
    const authBefore = await handled('grpc_method="Authenticate"');
    const before = { range: await handled('grpc_method="Range"'), put: await handled('grpc_method="Put"') };
    // A watch created now, on the stream opened with the dropped token, and a write under it.
    discovery.endpoints$('tok-new').subscribe();
    await putAsRoot('tok-new', 'one', 7401);
    await waitFor('the new watch to deliver', () => ids(discovery, 'tok-new').includes('one'), { timeoutMs: 10_000 });
    await app!.get(ServiceRegistry).setStatus('down');
    await sleep(3_000);
    const authentications = (await handled('grpc_method="Authenticate"')) - authBefore - 1; // etcdctl's own
    const ranges = (await handled('grpc_method="Range"')) - before.range;
    const puts = (await handled('grpc_method="Put"')) - before.put - 1; // etcdctl's
    console.log(
      `[measured] token dropped unused: ${authentications} authentications, ${ranges} range requests, ${puts} writes by the app for a new watch and a status change`,
    );
    expect(authentications).toBeGreaterThanOrEqual(1);
    expect(authentications).toBeLessThanOrEqual(2);
    expect(ranges).toBeLessThanOrEqual(2); // the new service's first list (and its retry with a new token)
    expect(puts).toBeLessThanOrEqual(2); // the status change (and its retry)

    // An etcd restart: every token is gone; the watches resume on a stream with a new one.
    await etcd.killAndStartAgain(500);
    await putAsRoot('tok-new', 'two', 7402);
    await waitFor('the change after the restart', () => ids(discovery, 'tok-new').includes('two'), {
      timeoutMs: 15_000,
    });
    await waitFor('the registration kept or put back', () =>
      app!
        .get(ServiceRegistry)
        .registrations()
        .every((registration) => registration.state === 'registered'),
    );
  });

  it('a JWT that expires every 3 s: renewed before it expires, no request refused for 4 of its lives, watches created late still work', async () => {
    keysDir = await mkdtemp(join(tmpdir(), 'etcd-jwt-'));
    const openssl = (...args: string[]) => promisify(execFile)('openssl', args, { cwd: keysDir });
    await openssl('genrsa', '-out', 'jwt.key', '2048');
    await openssl('rsa', '-in', 'jwt.key', '-pubout', '-out', 'jwt.pub');
    await startWithAuth([
      `--auth-token=jwt,pub-key=${join(keysDir, 'jwt.pub')},priv-key=${join(keysDir, 'jwt.key')},sign-method=RS256,ttl=3s`,
    ]);
    // A periodic check every ~second: a request with the token all the time.
    const discovery = await startApp({ resyncIntervalMs: 1000 });
    const refusedBefore = await handled('grpc_code="Unauthenticated"');
    const authBefore = await handled('grpc_method="Authenticate"');
    await sleep(12_000);
    const refused = (await handled('grpc_code="Unauthenticated"')) - refusedBefore;
    const authentications = (await handled('grpc_method="Authenticate"')) - authBefore;
    console.log(
      `[measured] JWT ttl 3 s, 12 s of work: ${authentications} authentications, ${refused} requests refused as unauthenticated`,
    );
    expect(refused).toBe(0);
    expect(authentications).toBeGreaterThanOrEqual(3);
    discovery.endpoints$('jwt-late').subscribe();
    await putAsRoot('jwt-late', 'one', 7403);
    await waitFor(
      'a watch created on a stream opened with an expired token',
      () => ids(discovery, 'jwt-late').includes('one'),
      { timeoutMs: 10_000 },
    );
  });
});
