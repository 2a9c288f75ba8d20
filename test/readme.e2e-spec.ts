import type { Etcd3 } from 'etcd3';
import { execFile, spawn } from 'node:child_process';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { EtcdServer, exited, freePort, readKeys, track, waitFor } from '@repo/testing';

const root = fileURLToPath(new URL('../', import.meta.url));
// Inside the repository, so that `nestjs-etcd-discovery` resolves through node_modules as for a user.
const workDir = fileURLToPath(new URL('./.readme/', import.meta.url));

/** The code block that follows `<!-- example NAME` in the package's README (the user's guide). */
async function codeBlock(name: string): Promise<string> {
  const readme = await readFile(`${root}libs/discovery/README.md`, 'utf8');
  const match = new RegExp(`<!-- example ${name}[^>]*-->\\s*\`\`\`ts\\n([\\s\\S]*?)\`\`\``).exec(readme);
  if (!match) throw new Error(`libs/discovery/README.md has no code block after <!-- example ${name} -->`);
  return match[1];
}

/** Compiles the example NAME to `.readme/NAME/dist/main.js`. */
async function compileExample(name: string): Promise<string> {
  const dir = `${workDir}${name}/`;
  await mkdir(dir, { recursive: true });
  await writeFile(`${dir}main.ts`, await codeBlock(name));
  await writeFile(
    `${dir}tsconfig.json`,
    JSON.stringify({
      extends: '../../../tsconfig.base.json',
      compilerOptions: { outDir: 'dist', rootDir: '.' },
      include: ['main.ts'],
    }),
  );
  await promisify(execFile)(`${root}node_modules/.bin/tsc`, ['-p', dir]);
  return `${dir}dist/main.js`;
}

let etcd: EtcdServer;
let client: Etcd3;

beforeAll(async () => {
  etcd = await EtcdServer.start();
  client = etcd.client();
});
afterAll(async () => {
  await etcd.destroy();
  await rm(workDir, { recursive: true, force: true });
});

describe('the README examples', () => {
  it('hello-service registers once it listens, hello-caller discovers and calls it, SIGTERM deregisters it', async () => {
    const [service, caller] = await Promise.all([compileExample('hello-service'), compileExample('hello-caller')]);
    const port = await freePort();
    const app = track(
      spawn(process.execPath, [service], {
        // Bound to loopback, so that the address it advertises (and the caller dials) is 127.0.0.1.
        env: { ...process.env, ETCD_HOSTS: etcd.host, PORT: String(port), HOST: '127.0.0.1' },
        stdio: 'ignore',
      }),
    );
    try {
      const [key, stored] = await waitFor(
        'hello-service in etcd',
        async () => [...(await readKeys(client, '/services/'))][0],
        {
          timeoutMs: 15_000,
        },
      );
      const value = JSON.parse(stored.value) as { Addr: string; Metadata: { metadata: Record<string, string> } };
      expect(key).toMatch(new RegExp(`^/services/hello-service/[^/]+:${port}$`));
      expect(value.Addr).toMatch(new RegExp(`:${port}$`));
      expect(value.Metadata.metadata).toEqual({ team: 'docs' });

      const { stdout } = await promisify(execFile)(process.execPath, [caller], {
        env: { ...process.env, ETCD_HOSTS: etcd.host },
      });
      // Nest's own log lines share stdout; the example's lines are these two.
      const printed = stdout.split('\n').filter((line) => /^(instances|answer):/.test(line));
      expect(printed).toEqual([`instances: [ '127.0.0.1:${port}' ]`, 'answer: hello']);

      app.kill('SIGTERM');
      await waitFor('hello-service to be removed', async () => (await readKeys(client, '/services/')).size === 0, {
        timeoutMs: 1000,
        intervalMs: 10,
      });
      expect(await exited(app)).toEqual({ code: null, signal: 'SIGTERM' });
    } finally {
      app.kill('SIGKILL');
    }
  });

  it('the testing example is libs/discovery/examples/log-target.spec.ts, which the unit suite runs', async () => {
    expect(await codeBlock('log-target')).toBe(
      await readFile(`${root}libs/discovery/examples/log-target.spec.ts`, 'utf8'),
    );
  });
  it('the catalog example is libs/discovery/examples/catalog.spec.ts, which the unit suite runs', async () => {
    expect(await codeBlock('catalog')).toBe(await readFile(`${root}libs/discovery/examples/catalog.spec.ts`, 'utf8'));
  });

  it('the errors example is libs/discovery/examples/errors.spec.ts, which the unit suite runs', async () => {
    expect(await codeBlock('errors')).toBe(await readFile(`${root}libs/discovery/examples/errors.spec.ts`, 'utf8'));
  });
  it("the dashboard example is the portal's module, which the demo and test/dashboard.e2e-spec.ts run", async () => {
    expect(await readFile(`${root}apps/portal/src/portal.module.ts`, 'utf8')).toContain(
      await codeBlock('portal-module'),
    );
  });
  it('the health example is the module test/fixtures/health-app.ts serves, which test/health.e2e-spec.ts runs', async () => {
    expect(await readFile(`${root}test/fixtures/health-app.ts`, 'utf8')).toContain(await codeBlock('health-module'));
  });
});
