import { Observable } from 'rxjs';
import { messages } from '../discovery.messages.js';
import { DiscoveryClosedError } from '../errors.js';

/** What the holder keeps of one watch: the watch, and who uses it. */
interface Held<W> {
  readonly watch: W;
  /** Subscribers to what it emits. */
  subscribers: number;
  /**
   * Kept until close, whoever subscribes: required services, services picked from, the catalog `whoHandles()` reads.
   */
  pinned: boolean;
}

/**
 * Watches by key, each started on first use and shared by every subscriber and reader: stopped when
 * its last subscriber leaves, unless it is pinned; all stopped at close. One holder serves the
 * watches of services, of the namespace and of the catalog.
 */
export class SharedWatches<W extends { stop(): Promise<void> }> {
  private readonly held = new Map<string, Held<W>>();
  private isClosed = false;

  constructor(private readonly start: (key: string) => W) {}

  get closed(): boolean {
    return this.isClosed;
  }

  /** The watch of `key`, if it runs. */
  /** Every watch that runs now. */
  *running(): IterableIterator<W> {
    for (const { watch } of this.held.values()) yield watch;
  }

  get(key: string): W | undefined {
    return this.held.get(key)?.watch;
  }

  /** The watch of `key`, started if need be and kept until close. */
  pin(key: string): W {
    const held = this.acquire(key);
    held.pinned = true;
    return held.watch;
  }

  /**
   * What `select` gives of the watch of `key`, to each subscriber: the watch runs while anyone
   * subscribes (or it is pinned). After close, subscribers are completed at once.
   */
  observe<T>(key: string, select: (watch: W) => Observable<T>): Observable<T> {
    return new Observable<T>((subscriber) => {
      if (this.isClosed) return subscriber.complete();
      const held = this.acquire(key);
      held.subscribers += 1;
      const subscription = select(held.watch).subscribe(subscriber);
      return () => {
        subscription.unsubscribe();
        held.subscribers -= 1;
        if (held.subscribers > 0 || held.pinned || this.held.get(key) !== held) return;
        this.held.delete(key);
        void held.watch.stop();
      };
    });
  }

  /** Stops every watch; what they hold stays as it was. */
  async close(): Promise<void> {
    this.isClosed = true;
    await Promise.all([...this.held.values()].map(({ watch }) => watch.stop()));
  }

  /**
   * The watch of `key`, started if it does not run yet.
   * @throws DiscoveryClosedError after close: a watch started then would hold a timer on a closed etcd client.
   */
  private acquire(key: string): Held<W> {
    let held = this.held.get(key);
    if (held === undefined) {
      if (this.isClosed) throw new DiscoveryClosedError(messages.discoveryClosed());
      held = { watch: this.start(key), subscribers: 0, pinned: false };
      this.held.set(key, held);
    }
    return held;
  }
}
