import { Injectable, Module, type INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { execFile, spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { AppProcesses, CapturingLogger, EtcdServer, repoRoot, waitFor, type AppProcess } from '@repo/testing';
import { DiscoveryClient, DiscoveryModule } from 'nestjs-etcd-discovery';

/**
 * The operator CLI as an operator runs it: from the packed tarball installed in a fresh project
 * (node_modules/.bin/nestjs-etcd-discovery), against a real etcd, three real instances (a and b of v1, c of v2)
 * and a caller calling through discovery.fetch() (a Nest app in this process).
 */
const run = promisify(execFile);
let workDir: string;
let bin: string;
let etcd: EtcdServer;
const processes = new AppProcesses(() => ({ ETCD_HOSTS: etcd.host }));
let caller: INestApplicationContext;
let discovery: DiscoveryClient;
const pids = new Map<string, string>();
const apps = new Map<string, AppProcess>();
const versions = { a: 'v1', b: 'v1', c: 'v2' } as const;

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the CLI with `args` against the test's etcd. */
async function cli(...args: string[]): Promise<Ran> {
  try {
    const { stdout, stderr } = await run(bin, [...args, '--etcd', etcd.host], { timeout: 30_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

/** Runs the CLI with `--json` and expects success: its document. */
async function cliJson<T = Record<string, unknown>>(...args: string[]): Promise<T> {
  const ran = await cli(...args, '--json');
  if (ran.code !== 0) throw new Error(`${args.join(' ')} exited ${ran.code}: ${ran.stderr}`);
  return JSON.parse(ran.stdout) as T;
}

/** A bad input: exit 1, one line on stderr matching `reason`, nothing on stdout. */
function refused(ran: Ran, reason: RegExp): void {
  expect({ code: ran.code, stdout: ran.stdout }).toEqual({ code: 1, stdout: '' });
  expect(ran.stderr.trim().split('\n')).toHaveLength(1);
  expect(ran.stderr).toMatch(reason);
}

async function startInstance(id: keyof typeof versions): Promise<void> {
  const app = processes.start('discoverable-app', {
    transport: 'http',
    services: [{ name: 'shop', options: { id, version: versions[id] } }],
  });
  await app.waitForMessage('registration', 15_000, (message) => message.type === 'registered');
  pids.set(String(app.child.pid), id);
  apps.set(id, app);
}

/** `count` calls through discovery.fetch(), 20 at a time: how many each instance answered, and the failures. */
async function callMany(count: number) {
  const byId: Record<string, number> = {};
  const failures: string[] = [];
  let started = 0;
  await Promise.all(
    Array.from({ length: 20 }, async () => {
      while (started++ < count) {
        try {
          const id = pids.get(await (await discovery.fetch('http://shop/whoami')).text()) ?? '?';
          byId[id] = (byId[id] ?? 0) + 1;
        } catch (error) {
          failures.push(String(error));
        }
      }
    }),
  );
  return { byId, failures };
}

const policyRevision = async () =>
  (await cliJson<{ policyRevision: number | null }>('describe', 'shop')).policyRevision;

beforeAll(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'nestjs-etcd-discovery-cli-'));
  const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', workDir, '--loglevel=error'], {
    cwd: join(repoRoot(), 'libs/discovery'),
  });
  const [packed] = JSON.parse(stdout) as { filename: string }[];
  const project = join(workDir, 'ops');
  await mkdir(project);
  await writeFile(
    join(project, 'package.json'),
    JSON.stringify({
      name: 'ops',
      private: true,
      dependencies: { 'nestjs-etcd-discovery': `file:${join(workDir, packed.filename)}` },
    }),
  );
  await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: project });
  bin = join(project, 'node_modules/.bin/nestjs-etcd-discovery');
  etcd = await EtcdServer.start();
  for (const id of ['a', 'b', 'c'] as const) await startInstance(id);
  @Injectable()
  class Nothing {}
  @Module({
    imports: [DiscoveryModule.forRoot({ etcd: { hosts: [etcd.host] }, requires: ['shop'] })],
    providers: [Nothing],
  })
  class CallerModule {}
  caller = await NestFactory.createApplicationContext(CallerModule, { logger: new CapturingLogger() });
  discovery = caller.get(DiscoveryClient);
  await discovery.waitFor('shop', { count: 3 });
}, 240_000);

afterAll(async () => {
  await caller?.close();
  await processes.stopAll();
  await etcd?.destroy();
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

afterEach(async () => {
  // Each test starts from no policy (a document of its own is written over it, so history goes on).
  await etcd.client().delete().key('/services.policy/shop');
  let last: Awaited<ReturnType<typeof callMany>> | undefined;
  await waitFor('every instance called again', async () => {
    last = await callMany(30);
    return Object.keys(last.byId).length === 3 || undefined;
  }).catch((error: Error) => {
    // What the caller saw, so that a failure here explains itself.
    const listed = discovery.getEndpoints('shop').map(({ id, address, status }) => ({ id, address, status }));
    const counts = discovery.callCounts.snapshot().map(({ instance, calls, unreachable, timedOut, inFlight }) => ({
      instance,
      calls,
      unreachable,
      timedOut,
      inFlight,
    }));
    const picked = Array.from({ length: 6 }, () => discovery.pick('shop').id); // ejected ones are not picked
    throw new Error(`${error.message}: ${JSON.stringify({ last, listed, picked, counts })}`);
  });
});

describe('the operator CLI, from the packed tarball', () => {
  it('ls and describe: every service, each instance with version, status, weight and share', async () => {
    const { services } = await cliJson<{ services: object[] }>('ls');
    expect(services).toEqual([
      { service: 'shop', up: 3, draining: 0, down: 0, drained: 0, policyRevision: null, callers: 1, callersApplied: 1 },
    ]);
    const { instances } = await cliJson<{ instances: object[] }>('describe', 'shop');
    expect(instances).toEqual(
      (['a', 'b', 'c'] as const).map((id) =>
        expect.objectContaining({ id, version: versions[id], status: 'up', drained: false, weight: 1, share: 1 / 3 }),
      ),
    );
    expect((await cli('describe', 'shop')).stdout).toMatch(/^a +127\.0\.0\.1:\d+ +v1 +- +up +- +1 +33\.3 %$/m);
    refused(await cli('describe', 'nowhere'), /unknown service "nowhere"/);
  });

  it('split: --dry-run writes nothing and shows the shares; then 90/10 reaches the caller', async () => {
    const dry = await cliJson<{ instances: { id: string; after: number }[] }>(
      'split',
      'shop',
      'v1=90',
      'v2=10',
      '--dry-run',
    );
    expect(dry.instances.map(({ id, after }) => [id, after])).toEqual([
      ['a', 0.45],
      ['b', 0.45],
      ['c', 0.1],
    ]);
    refused(await cli('get', 'shop'), /"shop" has no traffic policy/);
    const { revision } = await cliJson<{ revision: number }>('split', 'shop', 'v1=90', 'v2=10');
    expect(revision).toBeGreaterThan(0);
    await waitFor('the split applied', async () => ((await callMany(100)).byId.c ?? 0) <= 12 || undefined);
    const { byId, failures } = await callMany(2000);
    expect(failures).toEqual([]);
    expect(byId.a + byId.b + byId.c).toBe(2000);
    expect(Math.abs(byId.c - 200)).toBeLessThanOrEqual(20); // 10 ± 1 % (a retry may move a call)
  });

  it('drain during calls: none fails, none goes to it once applied; the guard and unknown ids are refused; undrain', async () => {
    const { revision } = await cliJson<{ revision: number }>('drain', 'shop', 'b', '--for', '30m', '--reason', 'disk');
    await waitFor('the drain applied', async () => (await callMany(30)).byId.b === undefined || undefined);
    const during = await callMany(600);
    expect(during.failures).toEqual([]);
    expect(during.byId.b).toBeUndefined();
    refused(
      await cli('drain', 'shop', 'a'),
      /refused: instances drains 2 of 3 instances; guards.maxDrainedPercent \(50\) allows 1/,
    );
    refused(await cli('drain', 'shop', 'zz'), /no instance "zz" of "shop" \(its instances: a, b, c\)/);
    expect(await policyRevision()).toBe(revision); // nothing written
    const described = await cliJson<{ instances: { id: string; drained: boolean; share: number }[] }>(
      'describe',
      'shop',
    );
    expect(described.instances.find(({ id }) => id === 'b')).toMatchObject({ drained: true, share: 0 });
    await cliJson('undrain', 'shop', 'b');
    await waitFor('b called again', async () => ((await callMany(60)).byId.b ?? 0) > 0 || undefined);
    refused(await cli('undrain', 'shop', 'b'), /instance "b" is not drained/);
  });

  it('drain --wait returns once every caller applied it and its calls to the instance finished; ls counts callers', async () => {
    // Calls in flight for 1.5 s, spread over a, b and c: the drain of b must wait for b's.
    const slowCalls = Array.from({ length: 6 }, async () => {
      const id = pids.get(await (await discovery.fetch('http://shop/slow?ms=1500')).text()) ?? '?';
      return { id, finishedAt: Date.now() };
    });
    await new Promise((resolve) => setTimeout(resolve, 200));
    const drain = await cliJson<{ revision: number; applied: { done: boolean; callers: number } }>(
      ...['drain', 'shop', 'b', '--wait', '--timeout', '10s'],
    );
    const returnedAt = Date.now();
    const finished = await Promise.all(slowCalls);
    expect(drain.applied).toMatchObject({ done: true, callers: 1 });
    const toB = finished.filter(({ id }) => id === 'b');
    expect(toB.length).toBeGreaterThan(0);
    for (const call of toB) expect(call.finishedAt).toBeLessThanOrEqual(returnedAt);
    expect((await callMany(60)).byId.b).toBeUndefined();

    const listed = await cliJson<{ services: { service: string; callers: number; callersApplied: number }[] }>('ls');
    expect(listed.services.find(({ service }) => service === 'shop')).toMatchObject({ callers: 1, callersApplied: 1 });

    // A change without --wait: the caller writes no report (at 1,000 callers, 1,000 writes per change held up etcd's
    // next deliveries); ls finds its report older than the document, asks for it, and shows it applied.
    const report = async () => (await etcd.client().getAll().prefix('/services.policy-applied/').exec()).kvs;
    const reportBefore = (await report())[0].mod_revision;
    const split = await cliJson<{ revision: number }>('split', 'shop', 'v1=50', 'v2=50');
    await new Promise((resolve) => setTimeout(resolve, 2500)); // past the spread of a report's write
    expect((await report())[0].mod_revision).toBe(reportBefore);
    const asked = await cliJson<{ services: { service: string; policyRevision: number; callersApplied: number }[] }>(
      'ls',
    );
    expect(asked.services.find(({ service }) => service === 'shop')).toMatchObject({
      policyRevision: split.revision,
      callersApplied: 1,
    });
    expect(Number((await report())[0].mod_revision)).toBeGreaterThan(split.revision);
    await cliJson('split', 'shop', 'off');

    // A caller that never applies it (a report written by hand, stuck at revision 1): --wait says which, exit 3.
    const ghost = { app: 'ghost:1', revision: 1, services: ['shop'], rejected: {}, inFlight: {} };
    await etcd.client().put('/services.policy-applied/ghost').value(JSON.stringify(ghost));
    try {
      // Long enough for the real caller's report (written within 2 s of a change), not for the ghost's.
      const stuck = await cli('undrain', 'shop', 'b', '--wait', '--timeout', '4s');
      expect(stuck.code).toBe(3);
      expect(stuck.stdout).toMatch(/not applied by every caller in \d+ ms \(1\/2\):\n {2}ghost:1: pending/);
      expect(stuck.stderr).toMatch(/written, not applied by every caller/);
      expect(await policyRevision()).toBeGreaterThan(drain.revision); // written all the same
      // The ghost stays behind: ls shows it, and asks no caller again (the undrain's ask is newer than the document).
      const askedAt = async () =>
        (await etcd.client().getAll().prefix('/services.policy/reports/').exec()).kvs.map((kv) => kv.mod_revision);
      const lastAsk = await askedAt();
      const listed = await cliJson<{ services: { service: string; callers: number; callersApplied: number }[] }>('ls');
      expect(listed.services.find(({ service }) => service === 'shop')).toMatchObject({
        callers: 2,
        callersApplied: 1,
      });
      expect(await askedAt()).toEqual(lastAsk);
    } finally {
      await etcd.client().delete().key('/services.policy-applied/ghost');
    }
  });

  it('a document put by hand that apps reject: describe shows each caller rejecting it', async () => {
    await cliJson('weight', 'shop', 'a', '3');
    await etcd.client().put('/services.policy/shop').value('{"split": {"by": "zone"}}');
    const startedAt = Date.now();
    await waitFor('the rejection in describe', async () => {
      const described = await cliJson<{ callers: { behind: { state: string; problem?: string }[] } }>(
        ...['describe', 'shop'],
      );
      return described.callers.behind[0]?.state === 'rejected' || undefined;
    });
    const tookMs = Date.now() - startedAt;
    console.log(`[measured] a rejection seen in describe ${tookMs} ms after the put`);
    const { stdout } = await cli('describe', 'shop');
    expect(stdout).toMatch(/callers applied: 0\/1\n {2}\S+: rejected \(split\.by /);
    expect((await callMany(300)).failures).toEqual([]);
  });

  it('a drain ends by itself at the end of --for', async () => {
    await cliJson('drain', 'shop', 'a', '--for', '3s');
    await waitFor('the drain applied', async () => (await callMany(30)).byId.a === undefined || undefined);
    await waitFor('a called again, with no write', async () => ((await callMany(30)).byId.a ?? 0) > 0 || undefined, {
      timeoutMs: 10_000,
    });
    const described = await cliJson<{ instances: { id: string; drained: boolean }[] }>('describe', 'shop');
    expect(described.instances.find(({ id }) => id === 'a')?.drained).toBe(false);
  });

  it('bad input of every kind: exit 1, one line, nothing written', async () => {
    await cliJson('set', 'shop', 'timeoutMs=3000');
    const revision = await policyRevision();
    const bad = join(workDir, 'bad.json');
    await writeFile(bad, '{"calls": {"timeoutMs": 100, "attemptTimeoutMs": 500}}');
    const cases: [string[], RegExp][] = [
      [['set', 'shop', 'timeoutMs=100', 'attemptTimeoutMs=500'], /attemptTimeoutMs \(500\) must not be over timeoutMs/],
      [['set', 'shop', 'timeout=5'], /timeout is not a call setting/],
      [['set', 'shop', 'retries=two'], /retries=two: a whole number/],
      [['split', 'shop', 'v1=abc'], /v1=abc: a share is a whole number/],
      [['split', 'shop', 'v1'], /"v1" is not a share/],
      [['split', 'shop', 'v1=0', 'v2=0'], /split.weights must not all be 0/],
      [['weight', 'shop', 'a', '-3'], /unknown option -3/],
      [['weight', 'shop', 'a', '0'], /weight must be an integer from 1 to 10000/],
      [['drain', 'shop', 'a', '--for', '8d'], /--for 8d: from 1s to 7d/],
      [['drain', 'shop', 'a', '--for', 'soon'], /write a duration as 90s/],
      [['apply', 'shop', '-f', bad], /attemptTimeoutMs \(500\) must not be over timeoutMs/],
      [['apply', 'shop', '-f', join(workDir, 'missing.json')], /cannot read/],
      [['rollback', 'shop', '--to', '999999'], /no revision 999999 in the history/],
      [['frobnicate', 'shop'], /unknown verb "frobnicate"/],
      [['ls', '--colour'], /unknown option --colour/],
      [['drain', 'shop'], /drain needs <service> <instance id>/],
    ];
    for (const [args, reason] of cases) refused(await cli(...args), reason);
    expect(await policyRevision()).toBe(revision);
  });

  it('etcd unreachable: exit 2 within --timeout, saying which etcd', async () => {
    const started = Date.now();
    const { code, stderr } = await promisify(execFile)(bin, ['ls', '--etcd', '127.0.0.1:1', '--timeout', '2s']).then(
      () => ({ code: 0, stderr: '' }),
      (error: { code: number; stderr: string }) => error,
    );
    expect(code).toBe(2);
    expect(stderr).toMatch(/^nestjs-etcd-discovery: etcd at 127\.0\.0\.1:1/);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('two operators at once never lose a change: each write that exits 0 is in the document', async () => {
    let conflicts = 0;
    for (let round = 1; round <= 5; round++) {
      const [first, second] = await Promise.all([
        cli('weight', 'shop', 'a', String(round)),
        cli('weight', 'shop', 'c', String(round + 10)),
      ]);
      const { document } = await cliJson<{ document: { instances: Record<string, { weight: number }> } }>(
        'get',
        'shop',
      );
      if (first.code === 0) expect(document.instances.a.weight).toBe(round);
      if (second.code === 0) expect(document.instances.c.weight).toBe(round + 10);
      for (const ran of [first, second]) {
        if (ran.code !== 0) {
          refused(ran, /changed since it was read .* nothing written; run again/);
          conflicts++;
        }
      }
    }
    console.log(`[measured] two operators writing at once, 5 rounds: ${conflicts} conflict(s) refused, no change lost`);
  });

  it('history keeps each replaced document with who and why; rollback writes one back; watch shows changes', async () => {
    const watcher = spawn(bin, ['watch', 'shop', '--json', '--etcd', etcd.host]);
    let watched = '';
    watcher.stdout.on('data', (chunk: Buffer) => (watched += chunk.toString()));
    await new Promise((resolve) => setTimeout(resolve, 1000)); // its watch is created
    const first = await cliJson<{ revision: number }>(
      'split',
      'shop',
      'v1=50',
      'v2=50',
      '--by',
      'alice',
      '--reason',
      'start',
    );
    await cliJson('split', 'shop', 'v1=99', 'v2=1', '--by', 'bob', '--reason', 'too much');
    const { history } = await cliJson<{
      history: { revision: number; by: string; reason: string; document: string | null }[];
    }>('history', 'shop');
    expect(history.at(-1)).toMatchObject({ revision: first.revision, by: 'bob', reason: 'too much' });
    expect(JSON.parse(history.at(-1)!.document!)).toEqual({ split: { by: 'version', weights: { v1: 50, v2: 50 } } });
    await cliJson('rollback', 'shop', '--to', String(first.revision));
    const { document } = await cliJson<{ document: object }>('get', 'shop');
    expect(document).toEqual({ split: { by: 'version', weights: { v1: 50, v2: 50 } } });
    await waitFor('three changes watched', () => watched.trim().split('\n').length >= 3 || undefined);
    watcher.kill('SIGINT');
    const code = await new Promise((resolve) => watcher.once('exit', (exitCode) => resolve(exitCode)));
    expect(code).toBe(0);
    const lines = watched
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { service: string; kind: string });
    expect(lines.slice(0, 3).map(({ service, kind }) => `${service} ${kind}`)).toEqual([
      'shop put',
      'shop put',
      'shop put',
    ]);
  });

  it('a drained instance that restarts with the same id stays drained', async () => {
    await cliJson('drain', 'shop', 'b');
    await waitFor('the drain applied', async () => (await callMany(30)).byId.b === undefined || undefined);
    await apps.get('b')!.stop();
    await startInstance('b');
    await discovery.waitFor('shop', { count: 3 });
    const { byId, failures } = await callMany(300);
    expect(failures).toEqual([]);
    // Round robin gives 150 each; a call retried on the other instance (a kept-alive socket closed under it) may
    // move one: what matters is that none goes to b.
    expect(byId.b).toBeUndefined();
    expect(byId.a + byId.c).toBe(300);
    expect(Math.abs(byId.a - byId.c)).toBeLessThanOrEqual(10);
  });
});

describe("the README's CLI transcript", () => {
  it('each command it shows runs and prints what it shows (numbers, times and column widths aside)', async () => {
    const readme = await readFile(join(repoRoot(), 'libs/discovery/README.md'), 'utf8');
    const block = /<!-- example cli-transcript -->\s*```console\n([\s\S]*?)```/.exec(readme);
    expect(block).not.toBeNull();
    const normal = (text: string) =>
      text
        .trim()
        .split('\n')
        .map((line) => line.replace(/\d+/g, '#').replace(/\s+/g, ' '));
    const steps = block![1].split(/^\$ npx nestjs-etcd-discovery /m).filter((step) => step.trim() !== '');
    expect(steps.length).toBeGreaterThanOrEqual(4);
    for (const step of steps) {
      const [command, ...shown] = step.trimEnd().split('\n');
      const ran = await cli(...command.split(' '));
      expect({ command, code: ran.code, stderr: ran.stderr }).toEqual({ command, code: 0, stderr: '' });
      expect(normal(ran.stdout)).toEqual(normal(shown.join('\n')));
    }
  });
});
