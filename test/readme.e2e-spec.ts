import { Etcd3 } from 'etcd3';
import { execFile, spawn } from 'node:child_process';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { exited, track } from './support/child-processes.js';
import { EtcdServer } from './support/etcd.js';
import { readKeys } from './support/etcd-keys.js';
import { freePort } from './support/free-port.js';
import { waitFor } from './support/wait.js';

const root = fileURLToPath(new URL('../', import.meta.url));
// Inside the repository, so that `nestjs-etcd-discovery` resolves through node_modules as for a user.
const workDir = fileURLToPath(new URL('./.readme/', import.meta.url));

/** The code block that follows the `<!-- quickstart` marker in README.md. */
async function quickStartSource(): Promise<string> {
  const readme = await readFile(`${root}README.md`, 'utf8');
  const match = /<!-- quickstart[^>]*-->\s*```ts\n([\s\S]*?)```/.exec(readme);
  if (!match) throw new Error('README.md has no quick start block after <!-- quickstart -->');
  return match[1]!;
}

let etcd: EtcdServer;
let client: Etcd3;

beforeAll(async () => {
  etcd = await EtcdServer.start();
  client = new Etcd3({ hosts: etcd.host });
});
afterAll(async () => {
  client.close();
  await etcd.destroy();
  await rm(workDir, { recursive: true, force: true });
});

describe('the README quick start', () => {
  it('compiles, registers hello-service once it listens, and deregisters on SIGTERM', async () => {
    await mkdir(workDir, { recursive: true });
    await writeFile(`${workDir}main.ts`, await quickStartSource());
    await writeFile(
      `${workDir}tsconfig.json`,
      JSON.stringify({ extends: '../../tsconfig.base.json', compilerOptions: { outDir: 'dist', rootDir: '.' }, include: ['main.ts'] }),
    );
    await promisify(execFile)(`${root}node_modules/.bin/tsc`, ['-p', workDir]);

    const port = await freePort();
    const app = track(
      spawn(process.execPath, [`${workDir}dist/main.js`], {
        env: { ...process.env, ETCD_HOSTS: etcd.host, PORT: String(port) },
        stdio: 'ignore',
      }),
    );
    try {
      const [key, stored] = await waitFor('hello-service in etcd', async () => [...(await readKeys(client, '/services/'))][0], {
        timeoutMs: 15_000,
      });
      const value = JSON.parse(stored.value) as { Addr: string; Metadata: { metadata: Record<string, string> } };
      expect(key).toMatch(new RegExp(`^/services/hello-service/[^/]+:${port}$`));
      expect(value.Addr).toMatch(new RegExp(`:${port}$`));
      expect(value.Metadata.metadata).toEqual({ team: 'docs' });

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
});
