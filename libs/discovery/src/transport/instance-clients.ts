import type { ClientProxy } from '@nestjs/microservices';
import type { Observable } from 'rxjs';
import { instanceKey } from '../codec/instance-key.js';
import type { ServiceEndpoint } from '../service-endpoint.interface.js';

/** What a client proxy uses of one instance's client. */
export type InstanceClient = Pick<ClientProxy, 'send' | 'emit' | 'close'>;

/** How a call reaches an instance: a send, whose reply is awaited (within a deadline), or an emit. */
export interface Delivery<T> {
  run(client: InstanceClient): Observable<T>;
  awaitsReply: boolean;
}

/** One client per instance (`id@address`), opened on its first call and closed when it is of no more use. */
export class InstanceClients {
  private readonly clients = new Map<string, InstanceClient>();

  constructor(private readonly connectTo: (endpoint: ServiceEndpoint) => InstanceClient) {}

  /** The client of `endpoint`, opened if need be. */
  for(endpoint: ServiceEndpoint): InstanceClient {
    const instance = instanceKey(endpoint);
    let client = this.clients.get(instance);
    if (!client) {
      client = this.connectTo(endpoint);
      this.clients.set(instance, client);
    }
    return client;
  }

  close(instance: string): void {
    this.clients.get(instance)?.close();
    this.clients.delete(instance);
  }

  /** Closes the clients of instances not in `endpoints` (they left the list). */
  keepOnly(endpoints: readonly ServiceEndpoint[]): void {
    const present = new Set(endpoints.map(instanceKey));
    for (const instance of this.clients.keys()) if (!present.has(instance)) this.close(instance);
  }

  closeAll(): void {
    for (const client of this.clients.values()) client.close();
    this.clients.clear();
  }

  /** The clients, by instance. */
  get all(): ReadonlyMap<string, InstanceClient> {
    return this.clients;
  }
}
