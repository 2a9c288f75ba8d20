import { Inject, Injectable } from '@nestjs/common';
import { RequiredServices } from './bootstrap/required-services.js';
import { RESOLVED_DISCOVERY_OPTIONS } from './discovery.constants.js';
import { describeEtcdFailure } from './etcd/failure-words.js';
import type { ResolvedDiscoveryOptions } from './options/discovery-module-options.interface.js';
import { RegistrationReconciler } from './registration/registration-reconciler.js';
import { ServiceWatches } from './watch/service-watches.js';

/** How this app stands with etcd: what the health indicator reports. */
export interface DiscoveryStatusReport {
  /** False when a registration is not in etcd (no live lease) or a required service has no readable list. */
  healthy: boolean;
  /** What is wrong, in words, when not healthy. */
  problems: string[];
  etcd: { hosts: string[] };
  /** The lease every registration of this app shares, while it is alive. */
  lease: { id: string | undefined; alive: boolean };
  registrations: { service: string; id: string; key: string; state: 'pending' | 'registered' }[];
  /** The services this app calls: listed once, and readable now (the last list attempt did not fail). */
  requiredServices: { service: string; readable: boolean; endpoints: number; error?: string }[];
  /** The last error talking to etcd, while not healthy. */
  lastError?: string;
}

/** Reads the registry's and the required services' state; nothing here talks to etcd. */
@Injectable()
export class DiscoveryStatus {
  constructor(
    @Inject(RESOLVED_DISCOVERY_OPTIONS) private readonly options: ResolvedDiscoveryOptions,
    private readonly reconciler: RegistrationReconciler,
    private readonly requiredServices: RequiredServices,
    private readonly watches: ServiceWatches,
  ) {}

  report(): DiscoveryStatusReport {
    const registrations = this.reconciler.states().map(({ service, id, key, state }) => ({ service, id, key, state }));
    const leaseId = this.reconciler.leaseId;
    const requiredServices = this.requiredServices.collect().map((service) => {
      const { listed, endpoints, error } = this.watches.listStatus(service);
      return {
        service,
        readable: listed && error === undefined,
        endpoints,
        ...(error ? { error: error.message } : {}),
      };
    });
    const problems: string[] = [];
    if (registrations.length > 0 && leaseId === undefined)
      problems.push('no live lease: the registrations are not in etcd');
    for (const { service, key, state } of registrations) {
      if (state !== 'registered') problems.push(`${service} is not registered (${key})`);
    }
    for (const { service, readable, error } of requiredServices) {
      if (!readable) problems.push(`the list of ${service} cannot be read${error ? `: ${error}` : ' yet'}`);
    }
    const healthy = problems.length === 0;
    const failure = this.reconciler.lastFailure ?? requiredServices.find((required) => required.error)?.error;
    return {
      healthy,
      problems,
      etcd: { hosts: [...this.options.etcd.hosts] },
      lease: { id: leaseId, alive: leaseId !== undefined },
      registrations,
      requiredServices,
      ...(!healthy && failure !== undefined
        ? { lastError: typeof failure === 'string' ? failure : describeEtcdFailure(failure, this.options.etcd.hosts) }
        : {}),
    };
  }
}
