import type { Etcd3 } from 'etcd3';
import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { AppProcess, EtcdServer, readKeys, repoRoot } from '@repo/testing';

/**
 * The package as a user gets it: packed to a tarball, installed with plain `npm install` (and `npm ci`)
 * into fresh projects beside real packages from the registry, compiled the way each Nest CLI compiles,
 * and run against a real etcd. npm's own cache (`--prefer-offline`) keeps the downloads to the first run.
 */
const run = promisify(execFile);
const root = repoRoot();
const installFlags = ['--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'];

interface Flavour {
  name: string;
  type?: 'module';
  nest: string;
  /** @nestjs/terminus of the same major, for the health indicator. */
  terminus: string;
  typescript: string;
  /** tsconfig files to compile with (the first one's output is run), as the CLI scaffold writes them. */
  tsconfigs: Record<string, object>;
  /** Where the first tsconfig puts the compiled main.ts. */
  main: string;
  /** Also `npm ci` from the lockfile `npm install` wrote. */
  ci: boolean;
}

const scaffoldOptions = {
  declaration: true,
  removeComments: true,
  emitDecoratorMetadata: true,
  experimentalDecorators: true,
  allowSyntheticDefaultImports: true,
  target: 'ES2023',
  sourceMap: true,
  incremental: true,
  skipLibCheck: true,
  strictNullChecks: true,
};

const flavours: Flavour[] = [
  {
    name: 'Nest 11, CommonJS',
    nest: '^11.0.1',
    terminus: '^11.0.0',
    typescript: '^5.7.3',
    tsconfigs: {
      // The Nest 11 CLI's scaffold until 11.0: CommonJS with node10 resolution (the failing case).
      'tsconfig.json': {
        compilerOptions: { ...scaffoldOptions, module: 'commonjs', outDir: './dist', baseUrl: './' },
        include: ['src'],
      },
      // Its scaffold since: nodenext in a package without "type": "module", which compiles to CommonJS too.
      'tsconfig.nodenext.json': {
        compilerOptions: {
          ...scaffoldOptions,
          module: 'nodenext',
          moduleResolution: 'nodenext',
          resolvePackageJsonExports: true,
          esModuleInterop: true,
          isolatedModules: true,
          outDir: './dist-nodenext',
        },
        include: ['src'],
      },
    },
    main: 'dist/main.js',
    ci: true,
  },
  {
    name: 'Nest 12, ESM',
    type: 'module',
    nest: '^12.0.0',
    terminus: '^12.0.0',
    typescript: '^6.0.3',
    tsconfigs: {
      // The Nest 12 CLI's scaffold (TypeScript 6 wants rootDir): the output is dist/src/main.js.
      'tsconfig.json': {
        compilerOptions: {
          ...scaffoldOptions,
          module: 'nodenext',
          moduleResolution: 'nodenext',
          resolvePackageJsonExports: true,
          esModuleInterop: true,
          isolatedModules: true,
          types: ['node'],
          outDir: './dist',
          rootDir: '.',
          strict: true,
          strictPropertyInitialization: false,
        },
        include: ['src'],
      },
    },
    main: 'dist/src/main.js',
    ci: false,
  },
];

let etcd: EtcdServer;
let client: Etcd3;
let workDir: string;
let tarball: string;
let packedFiles: string[];

beforeAll(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'nestjs-etcd-discovery-compat-'));
  const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', workDir, '--loglevel=error'], {
    cwd: join(root, 'libs/discovery'),
  });
  const [packed] = JSON.parse(stdout) as { filename: string; files: { path: string }[] }[];
  tarball = join(workDir, packed.filename);
  packedFiles = packed.files.map((file) => file.path);
  etcd = await EtcdServer.start();
  client = etcd.client();
}, 120_000);

afterAll(async () => {
  await etcd?.destroy();
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

describe('the packed package', () => {
  it('stands alone: README, CHANGELOG, LICENSE, the sources its maps point to; no specs, no test-only files', async () => {
    expect(packedFiles).toEqual(
      expect.arrayContaining([
        'README.md',
        'LICENSE',
        'package.json',
        'dist/index.js',
        'dist/index.d.ts',
        'dist/testing/index.js',
        'dist/terminus/index.js',
        'dist/dashboard/index.js',
        'dist/codec/index.js',
        'CHANGELOG.md',
        'src/index.ts',
      ]),
    );
    expect(packedFiles.filter((file) => /\.spec\.|examples\/|tsbuildinfo/.test(file))).toEqual([]);
    // Every source map and declaration map points at a file that is in the package.
    const maps = packedFiles.filter((file) => file.endsWith('.map'));
    expect(maps.length).toBeGreaterThan(50);
    const missing: string[] = [];
    for (const map of maps) {
      const { sources } = JSON.parse(await readFile(join(root, 'libs/discovery', map), 'utf8')) as {
        sources: string[];
      };
      for (const source of sources) {
        const target = resolve('/', dirname(map), source).slice(1);
        if (!packedFiles.includes(target)) missing.push(`${map} → ${source}`);
      }
    }
    expect(missing).toEqual([]);
  });
});

describe.each(flavours)('a fresh $name app, with the tarball and registry packages', (flavour) => {
  it('installs with no flag, compiles as the CLI does, registers, discovers, calls over TCP, reports health, deregisters on SIGTERM — without @opentelemetry/api, then with it and its metrics SDK', async () => {
    const app = await freshProject(flavour, '', {
      '@nestjs/common': flavour.nest,
      '@nestjs/core': flavour.nest,
      '@nestjs/microservices': flavour.nest,
      '@nestjs/terminus': flavour.terminus,
    });
    if (flavour.ci) await run('npm', ['ci', ...installFlags], { cwd: app });
    const installed = JSON.parse(await readFile(join(app, 'node_modules/@nestjs/core/package.json'), 'utf8')) as {
      version: string;
    };
    expect(installed.version.split('.')[0]).toBe(flavour.nest.replace(/^\^/, '').split('.')[0]);

    await compileAsTheCli(app, flavour, 'test/compat/main.ts');

    // Without @opentelemetry/api (an optional peer): nothing recorded, nothing missing.
    await runApp(join(app, flavour.main), (metrics) => expect(metrics).toEqual({ installed: false }));
    // With the API and the metrics SDK, as a user adds them today (the latest of each): the same app
    // records its two sends and its registration.
    await run('npm', ['install', ...installFlags, '@opentelemetry/api', '@opentelemetry/sdk-metrics'], { cwd: app });
    await runApp(join(app, flavour.main), (metrics) =>
      expect(metrics).toMatchObject({
        installed: true,
        points: {
          'discovery.call.duration compat-echo ok': 2,
          'discovery.call.attempts compat-echo ok first': 2,
          'discovery.registrations compat-echo registered': 1,
          'discovery.endpoints compat-echo up': 1,
        },
      }),
    );
  }, 300_000);

  it('an HTTP-only app without @nestjs/microservices installs, compiles, registers, calls by fetch() and call(), is told what to install for a client proxy, deregisters on SIGTERM', async () => {
    const app = await freshProject(flavour, '-http-only', {
      '@nestjs/common': flavour.nest,
      '@nestjs/core': flavour.nest,
      '@nestjs/platform-express': flavour.nest,
    });
    // An optional peer: npm installs it for no one.
    await expect(readFile(join(app, 'node_modules/@nestjs/microservices/package.json'))).rejects.toThrow(/ENOENT/);
    await compileAsTheCli(app, flavour, 'test/compat/http-main.ts');

    const instance = AppProcess.run(join(app, flavour.main), { env: { ETCD_HOSTS: etcd.host } });
    try {
      const called = await instance.waitForMessage('called', 30_000);
      expect(called).toMatchObject({
        fetched: { hello: 'world' },
        called: { hello: 'world' },
        prefix: '/services/compat-http/',
        dashboardServices: 1,
      });
      expect(await instance.waitForMessage('client-proxy')).toMatchObject({
        isDiscoveryError: true,
        code: 'INVALID_OPTIONS',
        message: expect.stringMatching(/"ECHO" is a Nest ClientProxy.*install it \(npm install @nestjs\/microservices/),
      });
      await leavesCleanly(instance, `/services/compat-http/${called.address as string}`);
    } catch (error) {
      throw explained(error, instance);
    } finally {
      await instance.stop();
    }
  }, 300_000);
});

/**
 * A fresh project of `flavour` (its name, then `suffix`) with `dependencies`, the tarball, reflect-metadata and
 * rxjs, installed with plain `npm install`.
 */
async function freshProject(flavour: Flavour, suffix: string, dependencies: Record<string, string>): Promise<string> {
  const name = `${flavour.name.replace(/\W+/g, '-').toLowerCase()}${suffix}`;
  const app = join(workDir, name);
  await mkdir(join(app, 'src'), { recursive: true });
  await writeFile(
    join(app, 'package.json'),
    JSON.stringify({
      name,
      private: true,
      ...(flavour.type ? { type: flavour.type } : {}),
      dependencies: {
        ...dependencies,
        'nestjs-etcd-discovery': `file:${tarball}`,
        'reflect-metadata': '^0.2.2',
        rxjs: '^7.8.1',
      },
      devDependencies: { typescript: flavour.typescript, '@types/node': '^20.19.0' },
    }),
  );
  await run('npm', ['install', ...installFlags], { cwd: app });
  return app;
}

/** Compiles `source` (from the repository) as the project's src/main.ts with each tsconfig of the flavour's CLI. */
async function compileAsTheCli(app: string, flavour: Flavour, source: string): Promise<void> {
  await copyFile(join(root, source), join(app, 'src/main.ts'));
  for (const [file, tsconfig] of Object.entries(flavour.tsconfigs)) {
    await writeFile(join(app, file), JSON.stringify(tsconfig));
    await run(process.execPath, [join(app, 'node_modules/typescript/bin/tsc'), '-p', file], { cwd: app });
  }
}

/** Runs the compiled compat app against etcd: it registers, discovers, calls itself, reports health and metrics, and deregisters on SIGTERM. */
async function runApp(main: string, checkMetrics: (metrics: Record<string, unknown>) => void): Promise<void> {
  const instance = AppProcess.run(main, { env: { ETCD_HOSTS: etcd.host } });
  try {
    expect(await instance.waitForMessage('testing-kit')).toMatchObject({ picked: '127.0.0.1:1' });
    const called = await instance.waitForMessage('called', 30_000);
    expect(called.reply).toBe('echo: hello');
    expect(called.sum).toBe(5);
    expect(called.patterns).toEqual(['echo', '{"cmd":"sum","v":1}']);
    const health = await instance.waitForMessage('health');
    expect(health.discovery).toMatchObject({
      status: 'up',
      problems: [],
      lease: { alive: true },
      registrations: [{ service: 'compat-echo', state: 'registered' }],
    });
    const { event: _event, ...metrics } = await instance.waitForMessage('metrics');
    checkMetrics(metrics);
    await leavesCleanly(instance, `/services/compat-echo/${called.address as string}`);
  } catch (error) {
    throw explained(error, instance);
  } finally {
    await instance.stop();
  }
}

/**
 * The app's one key is in etcd; SIGTERM removes it at once (the lease revoked, not after its 5 s TTL); nothing on
 * the way printed a warning (Node's require(esm) included) or an error.
 */
async function leavesCleanly(instance: AppProcess, key: string): Promise<void> {
  expect([...(await readKeys(client, '/services/')).keys()]).toEqual([key]);
  await instance.terminate();
  expect((await readKeys(client, '/services/')).size).toBe(0);
  expect(instance.output).not.toMatch(/Warning|ERROR/);
}

/** A failed check with what the app printed and reported, which says why when the assertion alone does not. */
function explained(error: unknown, instance: AppProcess): Error {
  return new Error(
    `${(error as Error).message}\napp output:\n${instance.output}\nreports: ${JSON.stringify(instance.messages)}`,
    { cause: error },
  );
}
