import { AppProcesses, EtcdServer, freePort, readKeys } from '@repo/testing';

const apps = new AppProcesses();
const cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  await apps.stopAll();
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const startApp = (config: object, etcdHost: string) => apps.start('discoverable-app', config, { ETCD_HOSTS: etcdHost });

describe('start-up while etcd is unreachable', () => {
  it('fails fast by default, with an error that names the hosts and what to do, and the process ends', async () => {
    const deadHost = `127.0.0.1:${await freePort()}`;
    const app = startApp(
      { transport: 'http', services: [{ name: 'eager' }], discovery: { connectTimeoutMs: 1500 } },
      deadHost,
    );
    const failure = await app.waitForMessage('error');
    expect(failure.name).toBe('EtcdUnavailableError');
    expect(failure.message).toMatch(
      new RegExp(`^Could not register with etcd at ${deadHost} within 1500 ms \\(.+\\)\\. Check that etcd is running`),
    );
    expect(failure.message).toMatch(/registration: 'background'/);
    expect(failure.code).toBe('ETCD_UNAVAILABLE');
    // What etcd3 last said (the connection refused), kept as the cause.
    expect(failure.cause).toMatchObject({ message: expect.any(String) });
    // The failed start leaves nothing running: the process ends without anyone killing it.
    expect(await app.exited()).toEqual({ code: 1, signal: null });
    expect(app.messages.some((message) => message.event === 'listening')).toBe(false);
  });

  it("starts anyway in 'background' mode, logs each failed attempt, and registers once etcd appears", async () => {
    const port = await freePort();
    const app = startApp(
      {
        transport: 'http',
        services: [{ name: 'patient' }],
        discovery: { registration: 'background', backoff: { initialDelayMs: 100, maxDelayMs: 500 } },
      },
      `127.0.0.1:${port}`,
    );
    await app.waitForMessage('listening');
    await app.waitForMessage('registration', 10_000, (event) => event.type === 'retrying');
    expect(app.output).toMatch(
      /Registration: etcd at 127\.0\.0\.1:\d+ is unreachable: connection refused; retry 1 in \d+(\.\d)? m?s/,
    );

    const etcd = await EtcdServer.start({ clientPort: port });
    const client = etcd.client();
    cleanups.push(() => etcd.destroy());
    const registered = await app.waitForMessage('registration', 20_000, (event) => event.type === 'registered');
    expect((await readKeys(client, '/services/')).has(registered.key as string)).toBe(true);
  });
});
