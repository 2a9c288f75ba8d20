import { BehaviorSubject, filter, type Observable } from 'rxjs';
import { parseEndpointKey } from '../codec/endpoint-key.js';
import type { EtcdGateway } from '../etcd/etcd-gateway.js';
import { PrefixWatch, type PrefixWatchSettings } from './prefix-watch.js';

/** The names of the services that have at least one key under the namespace (`services$()`). */
export class NamespaceWatch {
  private readonly names = new BehaviorSubject<readonly string[] | undefined>(undefined);
  private readonly watch: PrefixWatch;

  readonly services$: Observable<readonly string[]> = this.names.pipe(
    filter((names): names is readonly string[] => names !== undefined),
  );

  constructor(gateway: EtcdGateway, namespace: string, settings: PrefixWatchSettings, onListFailed: (error: Error, nextAttemptMs: number) => void) {
    this.watch = new PrefixWatch(gateway, `${namespace}/`, settings, {
      update: (entries) => {
        const services = new Set<string>();
        for (const key of entries.keys()) {
          const parsed = parseEndpointKey(namespace, key);
          if (parsed) services.add(parsed.service);
        }
        const sorted = [...services].sort();
        const current = this.names.value;
        if (!current || current.join('\n') !== sorted.join('\n')) this.names.next(sorted);
      },
      listFailed: onListFailed,
    });
  }

  async stop(): Promise<void> {
    await this.watch.stop();
    this.names.complete();
  }
}
