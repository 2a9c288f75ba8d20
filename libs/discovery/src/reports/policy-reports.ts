import { Inject, Injectable, type LoggerService, type OnApplicationShutdown } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import type { Subscription } from 'rxjs';
import { hostname } from 'node:os';
import { CallAttempts } from '../calls/call-attempts.js';
import { RESOLVED_DISCOVERY_OPTIONS } from '../discovery.constants.js';
import { EtcdGateway } from '../etcd/etcd-gateway.js';
import type { ResolvedDiscoveryOptions } from '../options/discovery-module-options.interface.js';
import { policyAppliedPrefix } from '../policy/policy-keys.js';
import { REPORT_SPREAD_MS, type PolicyReport } from '../policy/policy-report.js';
import { TrafficPolicies } from '../policy/traffic-policies.js';
import { policyMessages } from '../policy/policy.messages.js';
import { libraryLogger } from '../util/library-logger.js';
import { ServiceRegistry } from '../registration/service-registry.js';
import { LeasedValue } from './leased-value.js';

/** How often the calls in flight to a drained instance are counted again, while the CLI waits for them to end. */
const IN_FLIGHT_RECOUNT_MS = 100;

/**
 * This app's report of the traffic policies it applies (see `PolicyReport`), kept in etcd for as long as it calls a
 * service: written at once when it starts calling, again (within REPORT_SPREAD_MS) when the services it calls or
 * its rejections change, and when the CLI asks (`--wait`, or a report found older than a document) — then also while
 * calls to a drained instance are in flight, until they have finished.
 */
@Injectable()
export class PolicyReports implements OnApplicationShutdown {
  private readonly app = `${hostname()}:${process.pid}`;
  private readonly key: string;
  private value: LeasedValue | undefined;
  private recount: NodeJS.Timeout | undefined;
  /** A report waiting out its spread, and the text it will write. */
  private spreading: NodeJS.Timeout | undefined;
  private pending: string | undefined;
  /** What the last report said that is worth a write unasked: services called, rejections, policies read at all. */
  private shape: string | undefined;
  /** The CLI asked: reports are written until no call to a drained instance is in flight. */
  private answering = false;
  private closed = false;
  private refusalTold = false;
  private readonly logger: LoggerService;
  private readonly leaseWatch: Subscription;

  constructor(
    @Inject(RESOLVED_DISCOVERY_OPTIONS) private readonly options: ResolvedDiscoveryOptions,
    private readonly gateway: EtcdGateway,
    private readonly policies: TrafficPolicies,
    private readonly attempts: CallAttempts,
    private readonly registry: ServiceRegistry,
  ) {
    this.logger = libraryLogger('DiscoveryClient', options);
    // Two apps on one host may share a pid (containers): the key needs more than the label.
    this.key = `${policyAppliedPrefix(options.namespace)}${this.app}:${randomBytes(3).toString('hex')}`;
    policies.progressed.add(() => this.update());
    policies.reportsAsks.asked.add(() => {
      this.answering = true;
      this.update();
    });
    // The report lives under the registrations' lease when the app registers: it follows that lease.
    this.leaseWatch = registry.events$.subscribe((event) => {
      if (event.type === 'registered' || event.type === 're-registered' || event.type === 'lease-lost')
        this.value?.leaseChanged();
    });
  }

  async onApplicationShutdown(): Promise<void> {
    this.closed = true;
    clearTimeout(this.recount);
    clearTimeout(this.spreading);
    this.leaseWatch.unsubscribe();
    await this.value?.close();
  }

  private update(): void {
    clearTimeout(this.recount);
    if (this.closed) return;
    const report = this.report();
    if (report.services.length === 0) return;
    // Revision 0: written before the policies could be read (the first list failed); the first list is news then.
    const shape = JSON.stringify([report.services, report.rejected, report.revision === 0]);
    // Most changes are none of those (every app runs this on each policy change): the text is made only to write.
    if (this.value === undefined) {
      this.value = this.leasedValue();
      // The first at once: a new caller is counted as soon as it has read the policies.
      this.value.set(JSON.stringify(report));
    } else if (this.answering || shape !== this.shape) this.spread(JSON.stringify(report));
    this.shape = shape;
    if (!this.answering || Object.keys(report.inFlight).length === 0) {
      this.answering = false;
      return;
    }
    this.recount = setTimeout(() => this.update(), IN_FLIGHT_RECOUNT_MS);
    this.recount.unref();
  }

  /** Sets `text` after a random delay within REPORT_SPREAD_MS: one write pending at a time, the latest text wins. */
  private spread(text: string): void {
    this.pending = text;
    if (this.spreading !== undefined) return;
    this.spreading = setTimeout(() => {
      this.spreading = undefined;
      this.value?.set(this.pending!);
    }, Math.random() * REPORT_SPREAD_MS);
    this.spreading.unref();
  }

  private leasedValue(): LeasedValue {
    const { ttl, connectTimeoutMs, backoff } = this.options;
    return new LeasedValue(this.gateway, this.key, { ttl, connectTimeoutMs, backoff }, this.registry, (error) => {
      if (this.refusalTold) return;
      this.refusalTold = true;
      this.logger.warn(policyMessages.reportRefused(this.key, error.message));
    });
  }

  private report(): PolicyReport {
    const report: PolicyReport = {
      app: this.app,
      revision: this.policies.revision,
      services: [],
      rejected: {},
      inFlight: {},
    };
    for (const policy of this.policies.all()) {
      const { service } = policy;
      report.services.push(service);
      const rejection = this.policies.rejections.get(service);
      if (rejection !== undefined) {
        const [first] = rejection.problems;
        report.rejected[service] = { revision: rejection.revision, problem: `${first.field} ${first.message}` };
      }
      // Made from entries: an id such as "__proto__" stays a field (assigned, it would set the prototype).
      const inFlight = [...policy.drainedIds]
        .map((id) => [id, this.attempts.inFlightTo(service, id)] as const)
        .filter(([, calls]) => calls > 0);
      if (inFlight.length > 0) report.inFlight[service] = Object.fromEntries(inFlight);
    }
    report.services.sort();
    return report;
  }
}
