import { Inject, Injectable } from '@nestjs/common';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { parseAddress } from '../codec/host-port.js';
import { encodeEndpoint, decodeEndpoint } from '../codec/endpoint-codec.js';
import { endpointKey, servicePrefix } from '../codec/endpoint-key.js';
import { RESOLVED_DISCOVERY_OPTIONS } from '../discovery.constants.js';
import { DiscoveryOptionsError } from '../errors.js';
import { EtcdGateway } from '../etcd/etcd-gateway.js';
import type { ResolvedDiscoveryOptions } from '../options/discovery-module-options.interface.js';
import { checkRegistration } from '../registration/registration-checks.js';
import type { ServiceRegistration } from '../registration/service-registration.interface.js';
import { toEndpoint } from '../registration/to-endpoint.js';
import { policyKey } from '../policy/policy-keys.js';
import type { TrafficPolicy } from '../policy/traffic-policy.interface.js';
import type { EndpointStatus, ServiceEndpoint } from '../service-endpoint.interface.js';
import type { InMemoryEtcd } from './in-memory-etcd.js';

/** An endpoint a test adds: `'host:port'`, or the fields of a registration (id, weight, metadata, status …). */
export type TestEndpoint = string | (Omit<ServiceRegistration, 'service'> & { status?: EndpointStatus });

/**
 * The endpoints `DiscoveryTestingModule` serves, in memory. Inject it in a test to add and remove
 * instances; `DiscoveryClient` sees each change as it would see it from etcd (a new `endpoints$`
 * list, a `changes$` event), by the time the returned promise resolves.
 */
@Injectable()
export class InMemoryRegistry {
  constructor(
    private readonly gateway: EtcdGateway,
    @Inject(RESOLVED_DISCOVERY_OPTIONS) private readonly options: ResolvedDiscoveryOptions,
  ) {}

  /** Adds (or replaces, with the same id) one instance of `service`; resolves with it once watchers have it. */
  async add(service: string, endpoint: TestEndpoint): Promise<ServiceEndpoint> {
    const added = this.write(service, endpoint);
    await nextTurn(); // watch responses arrive after the write, as from etcd
    return added;
  }

  /** Removes the instance `id` of `service` (`host:port` unless it was given another id); false if there was none. */
  async remove(service: string, id: string): Promise<boolean> {
    const key = endpointKey(this.options.namespace, service, id);
    const existed = this.etcd.contents(key).has(key);
    this.etcd.transaction([{ delete: key }]);
    await nextTurn();
    return existed;
  }

  /** The instances of `service` stored now, sorted by id. */
  endpoints(service: string): ServiceEndpoint[] {
    const stored = [...this.etcd.contents(servicePrefix(this.options.namespace, service))];
    return stored
      .map(([key, value]) => decodeEndpoint(this.options.namespace, key, value))
      .flatMap((result) => (result.ok ? [result.endpoint] : []))
      .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  /**
   * Writes the traffic policy of `service` as the CLI's `apply` would (undefined: deletes it); resolves once apps
   * have read it. Text is written as given: a bad document is rejected by apps as when read from etcd.
   */
  async setPolicy(service: string, policy: TrafficPolicy | string | undefined): Promise<void> {
    const key = policyKey(this.options.namespace, service);
    const value = typeof policy === 'string' ? policy : JSON.stringify(policy);
    this.etcd.transaction([policy === undefined ? { delete: key } : { put: key, value }]);
    await nextTurn();
  }

  /** Writes an endpoint synchronously: how `DiscoveryTestingModule.forRoot({ endpoints })` seeds the store. */
  write(service: string, endpoint: TestEndpoint): ServiceEndpoint {
    const { status, ...registration }: ServiceRegistration & { status?: EndpointStatus } = {
      service,
      ...(typeof endpoint === 'string' ? parsed(endpoint) : endpoint),
    };
    checkRegistration(registration);
    const stored: ServiceEndpoint = {
      ...toEndpoint(registration),
      ...(status === undefined || status === 'up' ? {} : { status }),
    };
    this.etcd.transaction([
      { put: endpointKey(this.options.namespace, service, stored.id), value: encodeEndpoint(stored) },
    ]);
    return stored;
  }

  private get etcd(): InMemoryEtcd {
    return this.gateway as InMemoryEtcd;
  }
}

function parsed(address: string): { host: string; port: number } {
  const hostPort = parseAddress(address);
  if (!hostPort)
    throw new DiscoveryOptionsError(`InMemoryRegistry: "${address}" is not host:port (e.g. 127.0.0.1:3001).`);
  return hostPort;
}
