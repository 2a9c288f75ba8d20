import { Logger } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { hostname } from 'node:os';
import { waitFor } from '@repo/testing';
import { DiscoveryClient } from '../discovery/discovery-client.js';
import { EtcdGateway } from '../etcd/etcd-gateway.js';
import { EtcdPermissionDeniedError } from 'etcd3';
import { CallAttempts } from '../calls/call-attempts.js';
import { RESOLVED_DISCOVERY_OPTIONS } from '../discovery.constants.js';
import { TrafficPolicies } from '../policy/traffic-policies.js';
import { ServiceRegistry } from '../registration/service-registry.js';
import { PolicyReports } from './policy-reports.js';
import { parsePolicyReport, type PolicyReport } from '../policy/policy-report.js';
import { DiscoveryTestingModule, InMemoryRegistry } from '../testing/index.js';
import type { InMemoryEtcd } from '../testing/in-memory-etcd.js';

const service = 'log-service';
const inAnHour = () => new Date(Date.now() + 3600_000).toISOString();
const instances = [
  { host: '127.0.0.1', port: 3001, id: 'a' },
  { host: '127.0.0.1', port: 3002, id: 'b' },
  { host: '127.0.0.1', port: 3003, id: 'c' },
];

async function callerApp() {
  const moduleRef = await Test.createTestingModule({
    imports: [DiscoveryTestingModule.forRoot({ endpoints: { [service]: instances }, requires: [service] })],
  }).compile();
  const app = await moduleRef.init();
  const etcd = app.get<EtcdGateway, InMemoryEtcd>(EtcdGateway);
  const reports = (): PolicyReport[] =>
    [...etcd.contents('/services.policy-applied/').values()].map((text) => parsePolicyReport(text)!);
  const revision = async () => (await etcd.list('/none/')).revision;
  /** What the CLI does with `--wait`, or when `ls` finds a report older than a document. */
  const askReports = () =>
    etcd.transaction([{ put: '/services.policy/reports/asked', value: `{"at":"${Date.now()}"}` }]);
  const registry = app.get(InMemoryRegistry);
  return { app, etcd, revision, reports, askReports, discovery: app.get(DiscoveryClient), registry };
}

let warnings: string[];
beforeEach(() => {
  warnings = [];
  vi.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
  vi.spyOn(Logger.prototype, 'warn').mockImplementation((message: unknown) => void warnings.push(String(message)));
});
afterEach(() => vi.restoreAllMocks());

describe('each app reports the policies it applies, under a lease of its own', () => {
  it('lists the services it calls, the revision judged up to and any rejection; the key goes at shutdown', async () => {
    const { app, etcd, revision, reports, askReports, registry } = await callerApp();
    await waitFor('the first report', () => reports().length === 1);
    const [first] = reports();
    expect(first.services).toEqual([service]);
    expect(first.app).toBe(`${hostname()}:${process.pid}`);

    // A change alone is not reported (1,000 callers writing at each change held up etcd): only when asked.
    const writes = () => etcd.log.filter((line) => line.startsWith('put /services.policy-applied/')).length;
    const writesBefore = writes();
    const before = await revision();
    await registry.setPolicy(service, { instances: { b: { drained: true, until: inAnHour() } } });
    await new Promise((resolve) => setTimeout(resolve, 2500)); // past the spread of a report's write
    expect({ writes: writes(), revision: reports()[0].revision }).toEqual({
      writes: writesBefore,
      revision: first.revision,
    });
    askReports();
    await waitFor('the drain reported once asked', () => reports()[0].revision > before);
    expect(reports()[0].rejected).toEqual({});

    const beforeBad = await revision();
    await registry.setPolicy(service, '{"split": 3}');
    await waitFor('the rejection reported', () => reports()[0].rejected[service] !== undefined);
    expect(reports()[0].rejected[service]).toEqual({
      revision: beforeBad + 1,
      problem: expect.stringMatching(/^split /),
    });

    await app.close();
    expect(etcd.contents('/services.policy-applied/').size).toBe(0);
  });

  it('asked, counts the calls in flight to a drained instance until they have finished', async () => {
    const { app, revision, reports, askReports, discovery, registry } = await callerApp();
    let release: () => void = () => undefined;
    let calledId = '';
    // Longer than REPORT_SPREAD_MS: the call must still be in flight when the asked report is written.
    const patience = { timeoutMs: 30_000, attemptTimeoutMs: 30_000 };
    const call = discovery.call(
      service,
      (endpoint) => {
        calledId = endpoint.id;
        return new Promise<void>((resolve) => (release = resolve));
      },
      patience,
    );
    await waitFor('the call started', () => calledId !== '');
    const before = await revision();
    await registry.setPolicy(service, { instances: { [calledId]: { drained: true, until: inAnHour() } } });
    askReports();
    await waitFor('the call in flight reported', () => reports()[0]?.inFlight[service]?.[calledId] === 1);
    expect(reports()[0].revision).toBeGreaterThan(before);

    release();
    await call;
    await waitFor('no call in flight reported', () => reports()[0].inFlight[service] === undefined);
    await app.close();
  });

  it("moves from a lease of its own to the registrations' lease once the app registers: one lease", async () => {
    const { app, etcd, reports } = await callerApp();
    await waitFor('the first report', () => reports().length === 1);
    expect(etcd.log.filter((line) => /^(grant|revoke)/.test(line))).toEqual(['grant 1']);

    await app.get(ServiceRegistry).register({ service: 'me', host: '127.0.0.1', port: 4000 });
    await waitFor('its own lease revoked', () => etcd.log.includes('revoke 1'));
    expect(etcd.log.filter((line) => /^(grant|revoke)/.test(line))).toEqual(['grant 1', 'grant 2', 'revoke 1']);
    expect(reports()).toHaveLength(1); // written again under lease 2 before lease 1 went
    await app.close();
    expect(etcd.contents('/services.policy-applied/').size).toBe(0);
  });

  it('a role that may not write the report: one warning, and no loop of writes while policies change', async () => {
    const { app, etcd, registry, askReports } = await callerApp();
    await waitFor('the first report', () => etcd.contents('/services.policy-applied/').size === 1);
    await app.get(PolicyReports).onApplicationShutdown(); // its key gone: the app's next report is a new one
    const refusedPuts: string[] = [];
    const put = vi.spyOn(etcd, 'put').mockImplementation((key) => {
      refusedPuts.push(key);
      return Promise.reject(new EtcdPermissionDeniedError('etcdserver: permission denied'));
    });
    const reports = new PolicyReports(
      app.get(RESOLVED_DISCOVERY_OPTIONS),
      etcd,
      app.get(TrafficPolicies),
      app.get(CallAttempts),
      app.get(ServiceRegistry),
    );
    for (let change = 0; change < 5; change++) {
      await registry.setPolicy(service, {
        instances: { b: { drained: true, until: inAnHour(), reason: `r${change}` } },
      });
      askReports();
    }
    await new Promise((resolve) => setTimeout(resolve, 2500)); // past the spread of the asked reports
    expect(refusedPuts).toHaveLength(1);
    expect(warnings.filter((warning) => warning.includes('cannot be written'))).toHaveLength(1);
    put.mockRestore();
    await reports.onApplicationShutdown();
    await app.close();
  });

  it('an app that calls nothing reports nothing', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [DiscoveryTestingModule.forRoot({})],
    }).compile();
    const app = await moduleRef.init();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(app.get<EtcdGateway, InMemoryEtcd>(EtcdGateway).contents('/services.policy-applied/').size).toBe(0);
    await app.close();
  });
});
