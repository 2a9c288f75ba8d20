import { Etcd3 } from 'etcd3';
import { numberedEndpoint } from './endpoints.js';
import { putEndpoint, putOperation } from './etcd-writes.js';

/**
 * A service of `count` endpoints that changes `perSecond` times a second (each change a new weight
 * for the next endpoint in turn), written by a client of its own. `pause()` it while etcd is down
 * (a write that fails then is skipped anyway); `stop()` ends it and closes the client.
 */
export async function startBusyService(hosts: string[], service: string, count: number, perSecond: number) {
  const client = new Etcd3({ hosts });
  const puts = Array.from({ length: count }, (_, index) => putOperation(numberedEndpoint(service, index)));
  for (let start = 0; start < puts.length; start += 100)
    await client.kv.txn({ success: puts.slice(start, start + 100) });
  let changes = 0;
  let inFlight = false;
  let paused = false;
  const timer = setInterval(() => {
    if (inFlight || paused) return;
    inFlight = true;
    const index = changes % count;
    changes += 1;
    putEndpoint(client, numberedEndpoint(service, index, 1 + (changes % 3)))
      .catch(() => undefined)
      .finally(() => (inFlight = false));
  }, 1000 / perSecond);
  return {
    get changes() {
      return changes;
    },
    pause() {
      paused = true;
    },
    resume() {
      paused = false;
    },
    stop() {
      clearInterval(timer);
      client.close();
    },
  };
}
