import { Inject, Injectable, type LoggerService, type OnApplicationShutdown } from '@nestjs/common';
import { RESOLVED_DISCOVERY_OPTIONS } from '../discovery.constants.js';
import { isRefusal } from '../etcd/etcd-errors.js';
import { EtcdGateway } from '../etcd/etcd-gateway.js';
import type { ResolvedDiscoveryOptions } from '../options/discovery-module-options.interface.js';
import { Deferred } from '../util/deferred.js';
import { libraryLogger } from '../util/library-logger.js';
import { Listeners } from '../util/listeners.js';
import { PrefixWatch } from '../watch/prefix-watch.js';
import { ServiceWatches } from '../watch/service-watches.js';
import { policyKey, policyPrefix, reportsAskedKey, serviceOfPolicyKey } from './policy-keys.js';
import { loggedPolicyEvents, policyMessages } from './policy.messages.js';
import { ReportsAsks } from './reports-asks.js';
import { ServicePolicy, type ServicePolicyEvents } from './service-policy.js';
import type { TrafficPolicy } from './traffic-policy.interface.js';
import { validateTrafficPolicy, type PolicyRejection } from './validate-traffic-policy.js';

/** How long after a refusal to read the policies the app asks again (its role may have been granted them). */
const REFUSED_READ_AGAIN_MS = 5 * 60_000;

/**
 * The traffic policies of the services this app calls (an internal provider: picks and calls read them). One watch of
 * the policy prefix per app, started with the first service's policy asked for; each document is checked whole by
 * `validateTrafficPolicy()` and applied whole or not at all: a bad one leaves the last good one in force, is logged
 * once (service, revision, first problem) and counted. A deleted document means the app's own settings again.
 */
@Injectable()
export class TrafficPolicies implements OnApplicationShutdown {
  private readonly policies = new Map<string, ServicePolicy>();
  /** The text of every document under the prefix, by service, as last read (also of services not called yet). */
  private readonly texts = new Map<string, string>();
  /** The text last applied or rejected, by service: a re-list that finds the same text does nothing. */
  private readonly judged = new Map<string, string>();
  /** The last rejection, by service, while its document stays rejected. */
  readonly rejections = new Map<string, PolicyRejection>();
  /** A document was rejected: (service, rejection). */
  readonly rejected = new Listeners<[string, PolicyRejection]>();
  /** Policies were read: a list, or changes (of any service's, called or not). */
  readonly read = new Listeners();
  /** The policies of the services this app calls were judged up to a newer revision, or it calls one more service. */
  readonly progressed = new Listeners();
  /** The CLI's asks for the callers' reports, told after `progressed` for the same response. */
  readonly reportsAsks = new ReportsAsks();
  private readonly logger: LoggerService;
  private readonly events: ServicePolicyEvents;
  private watch: PrefixWatch | undefined;
  /** Settled by the first list of the policies, or the first failure to read them. */
  private readonly firstRead = new Deferred<void>();
  private closed = false;
  private refusalTold = false;
  private readAgain: NodeJS.Timeout | undefined;
  /** Every change to the policy prefix up to this revision has been judged. */
  revision = 0;

  constructor(
    @Inject(RESOLVED_DISCOVERY_OPTIONS) private readonly options: ResolvedDiscoveryOptions,
    private readonly gateway: EtcdGateway,
    private readonly watches: ServiceWatches,
  ) {
    this.logger = libraryLogger('DiscoveryClient', options);
    this.events = loggedPolicyEvents(this.logger);
  }

  /** The policy in force for `service`; the app's watch of policies starts with the first one asked for. */
  of(service: string): ServicePolicy {
    let policy = this.policies.get(service);
    if (policy === undefined) {
      policy = new ServicePolicy(service, this.events);
      this.policies.set(service, policy);
      this.judge(service);
      this.start();
      if (this.firstRead.settled) this.progressed.tell();
    }
    return policy;
  }

  /**
   * Starts the watch of policies with the policies of `services` (the app's required services, at bootstrap), so
   * that their first picks already apply them; resolves once the policies were read, or could not be (then the
   * apps' own settings apply until they can: a role that may not read them stops nothing).
   */
  async watchRequired(services: readonly string[]): Promise<void> {
    for (const service of services) this.of(service);
    await this.firstRead.promise;
  }

  /** The policy of `service` as the dashboard shows it: in force here (else stored, if valid), and any rejection. */
  stateOf(service: string): { document?: TrafficPolicy; revision?: number; rejection?: PolicyRejection } {
    const policy = this.policies.get(service);
    if (policy !== undefined)
      return { document: policy.document, revision: policy.revision, rejection: this.rejections.get(service) };
    const text = this.texts.get(service);
    if (text === undefined) return {};
    const check = validateTrafficPolicy(text);
    return check.valid
      ? { document: check.policy, revision: this.revision }
      : { rejection: { revision: this.revision, problems: check.problems } };
  }

  /** Every service's policy asked for so far. */
  all(): Iterable<ServicePolicy> {
    return this.policies.values();
  }

  async onApplicationShutdown(): Promise<void> {
    this.closed = true;
    clearTimeout(this.readAgain);
    for (const policy of this.policies.values()) policy.close();
    await this.watch?.stop();
  }

  /** Starts the app's watch of policies, if it has not started (the dashboard shows every service's). */
  start(): void {
    if (this.watch !== undefined || this.closed || this.readAgain !== undefined) return; // refused: asked later
    const { resyncIntervalMs, backoff, etcdHosts, checks } = this.watches.settings;
    const namespace = this.options.namespace;
    this.watch = new PrefixWatch(
      this.gateway,
      policyPrefix(namespace),
      { resyncIntervalMs, backoff, etcdHosts, checks },
      {
        listed: (entries, revision) => {
          this.firstRead.resolve();
          this.revision = revision;
          const before = new Set(this.texts.keys());
          this.texts.clear();
          for (const [key, text] of entries) {
            const service = serviceOfPolicyKey(namespace, key);
            if (service !== undefined) this.texts.set(service, text);
          }
          for (const service of new Set([...before, ...this.texts.keys()])) this.judge(service);
          this.progressed.tell();
          this.reportsAsks.read(entries.get(reportsAskedKey(namespace)) ?? '', false);
          this.read.tell();
        },
        changed: (changes, revision) => {
          this.revision = revision;
          let called = false;
          for (const [key, text] of changes) {
            const service = serviceOfPolicyKey(namespace, key);
            if (service === undefined) continue;
            if (text === undefined) this.texts.delete(service);
            else this.texts.set(service, text);
            this.judge(service);
            called ||= this.policies.has(service);
          }
          if (called) this.progressed.tell();
          const asked = reportsAskedKey(namespace);
          if (changes.has(asked)) this.reportsAsks.read(changes.get(asked) ?? '', true);
          this.read.tell();
        },
        listFailed: (error) => {
          this.firstRead.resolve();
          // Unreachable: the service watches tell it, and retry. A refusal will not pass by itself: told once.
          if (isRefusal(error)) this.refused(error);
        },
      },
    );
  }

  /** The policies may not be read: said once, the watch stopped, asked again in REFUSED_READ_AGAIN_MS. */
  private refused(error: Error): void {
    if (!this.refusalTold)
      this.logger.warn(policyMessages.unreadable(policyPrefix(this.options.namespace), error.message));
    this.refusalTold = true;
    void this.watch?.stop();
    this.watch = undefined;
    clearTimeout(this.readAgain);
    this.readAgain = setTimeout(() => {
      this.readAgain = undefined;
      this.start();
    }, REFUSED_READ_AGAIN_MS).unref();
  }

  /** Applies the document of `service` as read, if someone asked for its policy and it changed since last judged. */
  private judge(service: string): void {
    const policy = this.policies.get(service);
    if (policy === undefined) return;
    const text = this.texts.get(service);
    if (text === this.judged.get(service)) return;
    if (text === undefined) {
      this.judged.delete(service);
      this.rejections.delete(service);
      policy.enforce(undefined, this.revision);
      return;
    }
    this.judged.set(service, text);
    const check = validateTrafficPolicy(text);
    if (check.valid) {
      this.rejections.delete(service);
      policy.enforce(check.policy, this.revision);
      return;
    }
    const rejection = { revision: this.revision, problems: check.problems };
    this.rejections.set(service, rejection);
    const key = policyKey(this.options.namespace, service);
    this.logger.warn(policyMessages.rejected(service, key, this.revision, check.problems));
    this.rejected.tell(service, rejection);
  }
}
