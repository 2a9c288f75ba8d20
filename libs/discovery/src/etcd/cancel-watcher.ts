import type { Watcher } from 'etcd3';

/**
 * Cancels an etcd3 watcher. Cancelling waits for etcd's answer while connected; a stalled cancel
 * (etcd frozen, or gone) must not hold up a shutdown or a re-watch, so it is bounded.
 */
export async function cancelWatcher(watcher: Watcher, timeoutMs = 1000): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    watcher.cancel().catch(() => undefined),
    new Promise((resolve) => {
      timer = setTimeout(resolve, timeoutMs);
    }),
  ]);
  clearTimeout(timer);
}
