import { BehaviorSubject, filter, type Observable } from 'rxjs';
import { parseEndpointKey } from '../codec/endpoint-key.js';
import type { EtcdGateway } from '../etcd/etcd-gateway.js';
import { PrefixWatch, type PrefixWatchSettings } from '../watch/prefix-watch.js';

/**
 * The names of the services that have at least one key under the namespace (`services$()`). A
 * change costs what it changed: keys are counted per service, and names are emitted only when a
 * service gains its first key or loses its last.
 */
export class NamespaceWatch {
  private readonly names = new BehaviorSubject<readonly string[] | undefined>(undefined);
  private readonly watch: PrefixWatch;
  private readonly keys = new Set<string>();
  private readonly keysPerService = new Map<string, number>();

  readonly services$: Observable<readonly string[]> = this.names.pipe(
    filter((names): names is readonly string[] => names !== undefined),
  );

  constructor(
    gateway: EtcdGateway,
    private readonly namespace: string,
    settings: PrefixWatchSettings,
    onListFailed: (error: Error, nextAttemptMs: number) => void,
  ) {
    this.watch = new PrefixWatch(gateway, `${namespace}/`, settings, {
      listed: (entries) => {
        this.keys.clear();
        this.keysPerService.clear();
        for (const key of entries.keys()) this.count(key, 1);
        this.publish();
      },
      changed: (changes) => {
        let namesChanged = false;
        for (const [key, value] of changes) {
          if (value === undefined && this.keys.has(key)) namesChanged = this.count(key, -1) || namesChanged;
          else if (value !== undefined && !this.keys.has(key)) namesChanged = this.count(key, 1) || namesChanged;
        }
        if (namesChanged) this.publish();
      },
      listFailed: onListFailed,
    });
  }

  async stop(): Promise<void> {
    await this.watch.stop();
    this.names.complete();
  }

  /** Counts a key in or out of its service; true when the service appeared or disappeared. */
  private count(key: string, delta: 1 | -1): boolean {
    const service = parseEndpointKey(this.namespace, key)?.service;
    if (service === undefined) return false;
    if (delta > 0) this.keys.add(key);
    else this.keys.delete(key);
    const count = (this.keysPerService.get(service) ?? 0) + delta;
    if (count > 0) this.keysPerService.set(service, count);
    else this.keysPerService.delete(service);
    return count === 0 || (count === 1 && delta > 0);
  }

  /** A new sorted list of names, unless it equals the last one (a re-list that changed nothing). */
  private publish(): void {
    const sorted = [...this.keysPerService.keys()].sort();
    const current = this.names.value;
    if (!current || current.join('\n') !== sorted.join('\n')) this.names.next(sorted);
  }
}
