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
