/**
 * `npm run demo`: a throwaway etcd (unless ETCD_HOSTS is set), 3 log-service instances,
 * grading-service and portal as separate processes; a canary split and a drain done with the operator CLI
 * (`npx nestjs-etcd-discovery`) while traffic flows; traffic through the portal while one
 * log-service instance is frozen (SIGSTOP) and thawed, one stopped (SIGTERM) and another killed
 * (SIGKILL), then — on the demo's own etcd only — while etcd restarts with its data wiped. Prints a
 * table per phase (failed requests, the slowest) and exits 0 when no request failed.
 * `npm run demo -- --keep` leaves everything running.
 */
import { execFile } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { EtcdServer, exited, readKeys, repoRoot, startExampleApp, waitFor, type ExampleApp } from '@repo/testing';
import { Etcd3 } from 'etcd3';

const keep = process.argv.includes('--keep');

interface RunningApp extends ExampleApp {
  name: string;
}

/** What the portal's discovery dashboard answers at /discovery/api (the part the demo prints). */
interface Catalog {
  services: {
    service: string;
    consistent: boolean;
    patterns: { pattern: string }[];
    events: { pattern: string }[];
    instances: { id: string; address: string; status: string; zone?: string }[];
  }[];
}

async function main(): Promise<number> {
  const workDir = await mkdtemp(join(tmpdir(), 'nestjs-etcd-discovery-demo-'));
  let etcd: EtcdServer | undefined;
  let hosts = process.env.ETCD_HOSTS;
  if (!hosts) {
    etcd = await EtcdServer.start();
    hosts = etcd.host;
    console.log(`Started a throwaway etcd on ${hosts} (ETCD_HOSTS not set).`);
  } else {
    console.log(`Using etcd at ${hosts} (ETCD_HOSTS).`);
  }
  // A short TTL so that the killed instance visibly leaves within the demo; 1 s drain on SIGTERM.
  const env = { ...process.env, ETCD_HOSTS: hosts, TTL: '3', DRAIN_MS: '1000', LOG_DIR: join(workDir, 'logs') };
  const start = async (app: string, label: string, extraEnv: NodeJS.ProcessEnv = {}): Promise<RunningApp> => {
    const log = createWriteStream(join(workDir, `${label.replace(/\W+/g, '-')}.log`));
    const started = await startExampleApp(app, { ...env, ...extraEnv }, log).catch((error: Error) => {
      throw new Error(`${label}: ${error.message}; see ${workDir}`);
    });
    return { name: label, ...started };
  };

  // Two instances of version 1.0 and a 2.0, for the canary below.
  const logs = await Promise.all(
    ['1.0', '1.0', '2.0'].map((VERSION, index) => start('log-service', `log-service #${index + 1}`, { VERSION })),
  );
  const grading = await start('grading-service', 'grading-service');
  const portal = await start('portal', 'portal');
  const apps: RunningApp[] = [...logs, grading, portal];
  console.log(`Apps' output: ${workDir}\n`);

  const catalog = () => getJson<Catalog>(`${portal.url}/discovery/api`);
  const instancesOf = (current: Catalog, service: string) =>
    current.services.find((entry) => entry.service === service)?.instances.length ?? 0;
  const logInstances = async () => instancesOf(await catalog(), 'log-service');
  await waitFor('3 log-service instances and grading-service in the portal', async () => {
    const current = await catalog();
    return instancesOf(current, 'log-service') === 3 && instancesOf(current, 'grading-service') === 1;
  });
  printCatalog(`The catalog, as the portal's dashboard shows it (${portal.url}/discovery)`, await catalog());

  // The portal does not name log-service: its client finds who handles the pattern.
  const routed = await postJson<{ instance?: string }>(`${portal.url}/log`, { line: 'routed by pattern' });
  if (!routed.instance) throw new Error(`POST /log (sent by pattern) failed: ${JSON.stringify(routed)}`);
  console.log(
    `Routed by pattern: the portal sent "log.append" without naming a service; log-service ${routed.instance} stored the line.\n`,
  );

  let failures = 0;
  let sent = 0;
  const phase1 = await traffic(portal.url, 300, 8);
  failures += phase1.failed;
  sent += phase1.total;
  printSpread('Phase 1 — 300 requests through portal → grading-service → log-service (round robin)', phase1);

  // Steering with the operator CLI (the package's bin), while the apps run: no restart, no deploy.
  const operator = (...args: string[]) => runCli(hosts, args);
  await operator('split', 'log-service', '1.0=90', '2.0=10', '--wait', '--by', 'demo', '--reason', 'canary of 2.0');
  const canary = await traffic(portal.url, 300, 8);
  failures += canary.failed;
  sent += canary.total;
  printSpread(`Canary — 300 requests: 90 % to the 1.0s, 10 % to the 2.0 (${logs[2].address})`, canary);
  const draining = await trafficDuring(portal.url, () =>
    operator('drain', 'log-service', logs[0].address, '--for', '10m', '--reason', 'disk', '--wait'),
  );
  const drained = await traffic(portal.url, 300, 8);
  failures += draining.failed + drained.failed;
  sent += draining.total + drained.total;
  printSpread(
    `Drain — traffic while ${logs[0].address} is drained (--wait returned once every caller applied it and ` +
      'its requests to it had finished)',
    draining,
  );
  printSpread(`After the drain — 300 requests: none to ${logs[0].address}, the 2.0 still gets 10 %`, drained);
  await operator('undrain', 'log-service', logs[0].address, '--wait');
  await operator('split', 'log-service', 'off', '--wait');

  // A hung instance: frozen, still listed, its port still accepting connections — and silent.
  const frozen = logs[2];
  const phase2 = await trafficDuring(portal.url, async () => {
    frozen.child.kill('SIGSTOP');
    await new Promise((resolve) => setTimeout(resolve, 5000));
    frozen.child.kill('SIGCONT');
  });
  failures += phase2.failed;
  sent += phase2.total;
  printSpread(
    `Phase 2 — traffic while log-service #3 (${frozen.url}) is frozen for 5 s (SIGSTOP: it accepts connections and answers nothing; ` +
      'listed until its 3 s lease runs out), then thawed',
    phase2,
  );

  const phase3 = await trafficDuring(portal.url, async () => {
    logs[0].child.kill('SIGTERM');
    await waitFor('log-service #1 to leave the portal', async () => (await logInstances()) === 2);
  });
  failures += phase3.failed;
  sent += phase3.total;
  printSpread(`Phase 3 — traffic while log-service #1 (${logs[0].url}) stops on SIGTERM`, phase3);
  printCatalog('Live instances', await catalog(), false);

  const phase4 = await trafficDuring(portal.url, async () => {
    logs[1].child.kill('SIGKILL');
    await waitFor('log-service #2 to leave the portal', async () => (await logInstances()) === 1, {
      timeoutMs: 15_000,
    });
  });
  failures += phase4.failed;
  sent += phase4.total;
  printSpread(
    `Phase 4 — traffic while log-service #2 (${logs[1].url}) is killed (SIGKILL; leaves after its 3 s TTL)`,
    phase4,
  );
  printCatalog('Live instances', await catalog(), false);

  if (etcd) {
    const added = await Promise.all([4, 5].map((index) => start('log-service', `log-service #${index}`)));
    apps.push(...added);
    await waitFor('3 log-service instances in the portal', async () => (await logInstances()) === 3);
    const client = new Etcd3({ hosts: [hosts] });
    const registered = async () =>
      (await readKeys(client, '/services/log-service/')).size === 3 &&
      (await readKeys(client, '/services/grading-service/')).size === 1;
    let backAfterMs = 0;
    const phase5 = await trafficDuring(portal.url, async () => {
      const wipedAt = Date.now();
      await etcd.restart({ wipe: true });
      await waitFor('every app to register again in the wiped etcd', registered, {
        timeoutMs: 30_000,
        intervalMs: 100,
      });
      backAfterMs = Date.now() - wipedAt;
    });
    client.close();
    failures += phase5.failed;
    sent += phase5.total;
    printSpread(
      `Phase 5 — traffic while etcd restarts with its data wiped (every app registered again ${(backAfterMs / 1000).toFixed(1)} s later; ` +
        'callers kept the instances they knew: a list from the empty etcd is not believed at once)',
      phase5,
    );
  } else {
    console.log('Phase 5 (etcd data wipe) skipped: the demo wipes only an etcd it started itself, never ETCD_HOSTS.\n');
  }

  printMetrics(
    `What the portal's GET ${portal.url}/metrics says (Prometheus text: the OpenTelemetry names, _ for .)`,
    await (await fetch(`${portal.url}/metrics`)).text(),
  );
  console.log(`${sent} requests, ${failures} failed.`);
  if (keep) {
    console.log(`\nStill running (--keep). Open the dashboard: ${portal.url}/discovery   Ctrl-C stops everything.`);
    await new Promise<void>((resolve) => process.once('SIGINT', () => resolve()));
  }
  await Promise.all(
    apps.map(async (app) => {
      app.child.kill('SIGTERM');
      await exited(app.child);
    }),
  );
  await etcd?.destroy();
  console.log('Stopped everything the demo started.');
  return failures === 0 ? 0 : 1;
}

interface Spread {
  total: number;
  failed: number;
  /** The longest a request took, in ms. */
  slowestMs: number;
  byInstance: Map<string, number>;
}

async function traffic(portalUrl: string, count: number, concurrency: number): Promise<Spread> {
  const spread: Spread = { total: 0, failed: 0, slowestMs: 0, byInstance: new Map() };
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        next += 1;
        await oneRequest(portalUrl, spread);
      }
    }),
  );
  return spread;
}

/** Sends requests without pause from before `event` starts until 100 requests after it ended. */
async function trafficDuring(portalUrl: string, event: () => Promise<void>): Promise<Spread> {
  const spread: Spread = { total: 0, failed: 0, slowestMs: 0, byInstance: new Map() };
  let stopAt = Infinity;
  const senders = Array.from({ length: 4 }, async () => {
    while (spread.total < stopAt) await oneRequest(portalUrl, spread);
  });
  await waitFor('some traffic first', () => spread.total >= 40);
  await event();
  stopAt = spread.total + 100;
  await Promise.all(senders);
  return spread;
}

async function oneRequest(portalUrl: string, spread: Spread): Promise<void> {
  spread.total += 1;
  const startedAt = performance.now();
  try {
    const score = spread.total % 101;
    const result = await postJson<{ loggedBy?: string }>(`${portalUrl}/grade`, { student: `s${spread.total}`, score });
    if (!result.loggedBy) throw new Error(JSON.stringify(result));
    spread.byInstance.set(result.loggedBy, (spread.byInstance.get(result.loggedBy) ?? 0) + 1);
  } catch {
    spread.failed += 1;
  } finally {
    spread.slowestMs = Math.max(spread.slowestMs, performance.now() - startedAt);
  }
}

/** Runs the operator CLI as `npx nestjs-etcd-discovery` would, printing the command and what it says. */
async function runCli(hosts: string, args: string[]): Promise<void> {
  const bin = join(repoRoot(), 'libs/discovery/dist/cli/main.js');
  console.log(`$ npx nestjs-etcd-discovery ${args.join(' ')}`);
  const { stdout } = await promisify(execFile)(process.execPath, [bin, ...args, '--etcd', hosts]);
  console.log(`${stdout.trimEnd().replace(/^/gm, '  ')}\n`);
}

async function getJson<T>(url: string): Promise<T> {
  return (await fetch(url)).json() as Promise<T>;
}

async function postJson<T>(url: string, body: unknown): Promise<T> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`${response.status}`);
  return response.json() as Promise<T>;
}

function printSpread(title: string, spread: Spread): void {
  console.log(title);
  printTable(
    ['log-service instance', 'requests', 'share'],
    [...spread.byInstance]
      .sort()
      .map(([instance, count]) => [instance, String(count), `${((100 * count) / spread.total).toFixed(1)}%`]),
  );
  console.log(`  ${spread.total} sent, ${spread.failed} failed, slowest ${Math.round(spread.slowestMs)} ms\n`);
}

function printCatalog(title: string, current: Catalog, withPatterns = true): void {
  console.log(title);
  const handles = (entry: Catalog['services'][number]) =>
    [...entry.patterns.map(({ pattern }) => pattern), ...entry.events.map(({ pattern }) => `${pattern} (event)`)].join(
      ', ',
    ) || '—';
  const rows = current.services.flatMap((entry) =>
    entry.instances.map((instance, index) => [
      index === 0 ? entry.service : '',
      instance.address,
      instance.status,
      ...(withPatterns ? [index === 0 ? handles(entry) : ''] : []),
    ]),
  );
  printTable(['service', 'address', 'status', ...(withPatterns ? ['handles'] : [])], rows);
  console.log('');
}

/** A few of the library's metrics from Prometheus text: calls and attempts by outcome, endpoints, own registrations. */
function printMetrics(title: string, text: string): void {
  const series = text.split('\n').flatMap((line) => {
    const match = /^(discovery_[a-z_]+)\{([^}]*)\} (\S+)$/.exec(line);
    if (!match) return [];
    const labels = Object.fromEntries(
      [...match[2].matchAll(/(\w+)="([^"]*)"/g)].map(([, name, value]) => [name, value]),
    );
    return [{ name: match[1], labels, value: Number(match[3]) }];
  });
  const rows = (name: string, describe: (labels: Record<string, string>) => string) =>
    series
      .filter((entry) => entry.name === name && entry.value > 0)
      .map((entry) => [name, describe(entry.labels), String(entry.value)]);
  console.log(title);
  printTable(
    ['metric', 'attributes', 'value'],
    [
      ...rows('discovery_call_duration_count', (labels) => `${labels.discovery_service} ${labels.discovery_outcome}`),
      ...rows(
        'discovery_call_attempts_total',
        (labels) => `${labels.discovery_service} ${labels.discovery_attempt_kind} ${labels.discovery_outcome}`,
      ),
      ...rows('discovery_endpoints', (labels) => `${labels.discovery_service} ${labels.discovery_endpoint_status}`),
      ...rows('discovery_watch_relists_total', (labels) => `${labels.discovery_relist_reason}`),
      ...rows(
        'discovery_registrations',
        (labels) => `${labels.discovery_service} ${labels.discovery_registration_state}`,
      ),
    ],
  );
  console.log('');
}

function printTable(headers: string[], rows: string[][]): void {
  const widths = headers.map((header, column) => Math.max(header.length, ...rows.map((row) => row[column].length)));
  const line = (cells: string[]) => `  ${cells.map((cell, column) => cell.padEnd(widths[column])).join('  ')}`;
  console.log(line(headers));
  console.log(line(widths.map((width) => '─'.repeat(width))));
  for (const row of rows) console.log(line(row));
}

main().then(
  (code) => process.exit(code),
  (error: Error) => {
    console.error(`demo failed: ${error.message}`);
    process.exit(1);
  },
);
