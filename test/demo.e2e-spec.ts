import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const root = fileURLToPath(new URL('../', import.meta.url));

describe('npm run demo', () => {
  it('starts its own etcd and the example apps, loses no request while an instance hangs, instances stop and die and etcd is wiped, and exits 0', async () => {
    const environment = { ...process.env };
    delete environment.ETCD_HOSTS; // the demo must bring its own etcd
    const { stdout } = await promisify(execFile)(process.execPath, ['scripts/dist/demo.js'], {
      cwd: root,
      env: environment,
      timeout: 120_000,
    });
    expect(stdout).toMatch(/^Started a throwaway etcd on 127\.0\.0\.1:\d+/);
    expect(stdout).toMatch(
      /Phase 1 — 300 requests[^\n]*\n(?:.*\n){2}(?: {2}127\.0\.0\.1:\d+ +100 +33\.3%\n){3} {2}300 sent, 0 failed, slowest \d+ ms/,
    );
    // The operator CLI: a 90/10 canary split and a drain, each applied by both callers (--wait) while traffic flows.
    expect(stdout).toMatch(
      /\$ npx nestjs-etcd-discovery split log-service 1\.0=90 2\.0=10 --wait[^\n]*\n {2}done: [^\n]*\n(?:.*\n){4} {2}applied by 2 caller\(s\)/,
    );
    const canary = /Canary — 300 requests[^\n]*\((127\.0\.0\.1:\d+)\)\n((?:.*\n){5}) {2}300 sent, 0 failed/.exec(
      stdout,
    );
    expect(canary).not.toBeNull();
    const canaryShare = Number(new RegExp(`${canary![1]} +(\\d+)`).exec(canary![2])![1]);
    expect(Math.abs(canaryShare - 30)).toBeLessThanOrEqual(3); // 10 ± 1 % of 300
    const drain =
      /\$ npx nestjs-etcd-discovery drain log-service (127\.0\.0\.1:\d+) [^\n]*--wait\n(?:.*\n){5} {2}applied by 2 caller\(s\) in \d+ ms, their calls to \1 finished/.exec(
        stdout,
      );
    expect(drain).not.toBeNull();
    const afterDrain = /After the drain — 300 requests[^\n]*\n((?:.*\n){4}) {2}300 sent, 0 failed/.exec(stdout);
    expect(afterDrain).not.toBeNull();
    expect(afterDrain![1]).not.toContain(drain![1]);
    expect(stdout).toMatch(/Drain — traffic while [^\n]*\n(?:.*\n){2,5} {2}\d+ sent, 0 failed/);
    expect(stdout).toMatch(/Phase 2 [^\n]*frozen[\s\S]*?\d+ sent, 0 failed, slowest \d+ ms/);
    expect(stdout).toMatch(/Phase 3 [^\n]*SIGTERM[\s\S]*?\d+ sent, 0 failed/);
    expect(stdout).toMatch(/Phase 4 [^\n]*SIGKILL[\s\S]*?\d+ sent, 0 failed/);
    expect(stdout).toMatch(/Phase 5 [^\n]*data wiped[\s\S]*?\d+ sent, 0 failed/);
    expect(stdout).toMatch(/\n\d+ requests, 0 failed\.\nStopped everything the demo started\.\n$/);
    // The portal's GET /metrics: one grading-service call per request, all ok; the one send by pattern.
    const sent = Number(/\n(\d+) requests, 0 failed\./.exec(stdout)![1]);
    expect(stdout).toMatch(/What the portal's GET http:\/\/127\.0\.0\.1:\d+\/metrics says/);
    expect(stdout).toMatch(new RegExp(`discovery_call_duration_count +grading-service ok +${sent} *\n`));
    expect(stdout).toMatch(/discovery_call_duration_count +log-service ok +1 *\n/);
    expect(stdout).toMatch(/discovery_endpoints +log-service up +3 *\n/);
  }, 150_000);
});
