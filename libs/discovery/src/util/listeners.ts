/**
 * A set of listeners told of one kind of news. `add()` returns what removes the listener; a
 * listener that throws does not stop the others, nor the code that tells them (often a callback of
 * grpc-js or etcd3, which an exception would break).
 */
export class Listeners<T extends unknown[] = []> {
  private readonly listeners = new Set<(...args: T) => void>();

  add(listener: (...args: T) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  tell(...args: T): void {
    for (const listener of [...this.listeners]) {
      try {
        listener(...args);
      } catch {
        // A listener's bug is its own.
      }
    }
  }

  clear(): void {
    this.listeners.clear();
  }
}
