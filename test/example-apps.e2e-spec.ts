import type { ChildProcess } from 'node:child_process';
import { request } from 'node:http';
import { EtcdServer, exited, startExampleApp, waitFor, type ExampleApp } from '@repo/testing';

// The example apps as a newcomer copies them: configuration through @nestjs/config, bodies checked by
// pipes, health through nestjs-etcd-discovery/terminus. The demo runs them under traffic; this
// checks what it does not: the answers to bad input, and the health report.
let etcd: EtcdServer;
const children: ChildProcess[] = [];
let grading: ExampleApp;
let portal: ExampleApp;

beforeAll(async () => {
  etcd = await EtcdServer.start();
  const start = async (name: string) => {
    const app = await startExampleApp(name, { ETCD_HOSTS: etcd.host, TTL: '3', DRAIN_MS: '0' });
    children.push(app.child);
    return app;
  };
  await start('log-service');
  grading = await start('grading-service');
  portal = await start('portal');
});
afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  await Promise.all(children.map((child) => exited(child)));
  await etcd.destroy();
});

const post = (app: ExampleApp, path: string, body: unknown) =>
  fetch(`${app.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });

describe('the example apps', () => {
  it("grading-service's /health is the terminus report of discovery: up, registered, log-service readable", async () => {
    const response = await fetch(`${grading.url}/health`);
    expect(response.status).toBe(200);
    const report = (await response.json()) as {
      status: string;
      details: {
        discovery: {
          status: string;
          registrations: { service: string }[];
          requiredServices: { service: string; readable: boolean }[];
        };
      };
    };
    expect(report.status).toBe('ok');
    expect(report.details.discovery.registrations.map((registration) => registration.service)).toEqual([
      'grading-service',
    ]);
    // Required through its DiscoveryClientsModule entry alone.
    expect(report.details.discovery.requiredServices).toEqual([
      expect.objectContaining({ service: 'log-service', readable: true }),
    ]);
  });

  it('grades a valid body, and answers 400 with what it takes for any other', async () => {
    const graded = await post(grading, '/grades', { student: 'ann', score: 95 });
    expect(graded.status).toBe(201);
    expect(await graded.json()).toMatchObject({
      student: 'ann',
      score: 95,
      grade: 'A',
      loggedBy: expect.stringMatching(/^127\.0\.0\.1:\d+$/),
    });
    for (const body of [
      { student: 'ann', score: 101 },
      { student: '', score: 50 },
      { score: 50 },
      { student: 'bob', score: '90' },
    ]) {
      const refused = await post(grading, '/grades', body);
      expect(refused.status).toBe(400);
      expect(((await refused.json()) as { message: string }).message).toBe(
        'POST /grades takes { student: string, score: 0..100 }',
      );
    }
  });

  it("log-service's pipe refuses a log.append without a line, and the portal passes the reason on", async () => {
    await waitFor(
      'the portal to find log.append in the catalog',
      async () => (await post(portal, '/log', { line: 'hello' })).status === 201,
    );
    const refused = await post(portal, '/log', {});
    expect(refused.status).toBe(400);
    expect(((await refused.json()) as { message: string }).message).toBe('log.append takes { line: string }');
  });

  it("the portal's GET /metrics and its dashboard answer requests from this machine only", async () => {
    for (const path of ['/metrics', '/discovery/api']) {
      // 127.0.0.1 is this machine; a request from 127.0.0.2 stands in for another one (loopback all the same).
      expect(await statusOf(portal, path, '127.0.0.1')).toBe(200);
      expect(await statusOf(portal, path, '127.0.0.2')).toBe(403);
    }
    const metrics = await fetch(`${portal.url}/metrics`);
    expect(await metrics.text()).toContain('discovery_');
  });
});

/** The status of a GET sent from `localAddress`. */
function statusOf(app: ExampleApp, path: string, localAddress: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const sent = request(`${app.url}${path}`, { localAddress }, (response) => {
      response.resume();
      resolve(response.statusCode ?? 0);
    });
    sent.on('error', reject).end();
  });
}
