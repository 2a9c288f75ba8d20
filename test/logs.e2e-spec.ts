import { AppProcesses, EtcdServer, freePort } from '@repo/testing';

/** What a user reads in the log of an app with Nest's defaults (test/fixtures/logging-app.ts). */
const apps = new AppProcesses(() => ({ NO_COLOR: '1' }));
afterEach(() => apps.stopAll());

const startApp = (config: object, etcdHost: string) => apps.start('logging-app', config, { ETCD_HOSTS: etcdHost });

/** The library's own lines: its three logger contexts. */
function libraryLines(output: string): string[] {
  return output.split('\n').filter((line) => /\[(ServiceRegistry|DiscoveryClient|DiscoveryModule)\]/.test(line));
}

describe('one error path for every bad declaration', () => {
  it.each([
    [
      'a bad service name in @Discoverable()',
      { name: 'team/hello' },
      /DiscoveryOptionsError: Invalid service name "team\/hello" in @Discoverable\(\) on HelloController/,
    ],
    ['a bad option', { name: 'hello', discovery: { ttl: 0 } }, /DiscoveryOptionsError: Invalid `ttl`/],
  ])(
    "%s: Nest's ExceptionHandler, before any route is mapped or port opened; the process ends",
    async (_case, config, message) => {
      const app = startApp(config, `127.0.0.1:${await freePort()}`);
      expect(await app.exited()).toEqual({ code: 1, signal: null });
      expect(app.output).toMatch(new RegExp(`ERROR \\[ExceptionHandler\\] ${message.source}`));
      expect(app.output).not.toMatch(/Mapped \{|RoutesResolver/);
      expect(app.messages).toEqual([]); // never listened
    },
  );
});

describe('quiet, useful logs', () => {
  it('a boot against etcd: one line per module, nothing about gRPC, one line for the registration', async () => {
    const etcd = await EtcdServer.start();
    try {
      const app = startApp({ name: 'hello' }, etcd.host);
      await app.waitForMessage('listening');
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(app.output.match(/DiscoveryModule dependencies initialized/g)).toHaveLength(1);
      expect(app.output).not.toMatch(/grpc|etcd:\/\//i);
      expect(libraryLines(app.output)).toEqual([
        expect.stringMatching(
          /LOG \[ServiceRegistry\] Registered \/services\/hello\/127\.0\.0\.1:\d+ → 127\.0\.0\.1:\d+ \(lease \d+\)$/,
        ),
      ]);
    } finally {
      await etcd.destroy();
    }
  });

  it('etcd down at start-up: one line per backoff step, in words, then the error that says what to do', async () => {
    const host = `127.0.0.1:${await freePort()}`;
    const app = startApp({ name: 'hello', discovery: { connectTimeoutMs: 2500 } }, host);
    expect((await app.exited()).code).toBe(1);
    const lines = libraryLines(app.output);
    expect(lines.length).toBeGreaterThan(1);
    const retries = lines.map((line) => {
      const match = new RegExp(
        `WARN \\[ServiceRegistry\\] Registration: etcd at ${host} is unreachable(?:: connection refused)?; retry (\\d+) in \\d+(?:\\.\\d)? m?s$`,
      ).exec(line);
      expect(match, line).not.toBeNull();
      return Number(match![1]);
    });
    expect(retries).toEqual(retries.map((_, index) => index + 1)); // no step logged twice
    // Words, not gRPC's text — which the error keeps as its `cause`, printed after it when the app crashes.
    const [ownWords, cause] = app.output.split('[cause]:');
    expect(ownWords).not.toMatch(/circuit breaker|Resolution note|\bUNAVAILABLE\b/);
    expect(cause).toMatch(/^ GRPC\w+Error: /);
    expect(app.output).toMatch(
      new RegExp(
        `EtcdUnavailableError: Could not register with etcd at ${host} within 2500 ms \\(etcd at ${host} is unreachable: connection refused\\)`,
      ),
    );
  });

  it("logger: false turns the library's lines off; Nest's own stay", async () => {
    const app = startApp(
      {
        name: 'hello',
        discovery: { registration: 'background', logger: false, backoff: { initialDelayMs: 100, maxDelayMs: 200 } },
      },
      `127.0.0.1:${await freePort()}`,
    );
    await app.waitForMessage('listening');
    await new Promise((resolve) => setTimeout(resolve, 1500)); // several failed attempts
    expect(libraryLines(app.output)).toEqual([]);
    expect(app.output).toMatch(/Mapped \{\/, GET\} route/);
  });
});
