import { castGrpcError, type Etcd3 } from 'etcd3';
import { withTimeout } from '../util/with-timeout.js';
import { withDeadline } from './deadline.js';

type LeaseClient = Etcd3['leaseClient'];

/**
 * Sends one keepalive for `leaseId` and returns the TTL etcd answers: > 0 while the lease lives,
 * ≤ 0 when etcd no longer knows it. Rejects when etcd cannot be reached before the deadline.
 */
export async function keepAliveOnce(leases: LeaseClient, leaseId: string, timeoutMs: number): Promise<number> {
  // Our own timer as well as the gRPC deadline: a keepalive that never settles (seen against a
  // frozen member) would otherwise hold up every later one, and the lease would expire unnoticed.
  let stream: Awaited<ReturnType<LeaseClient['leaseKeepAlive']>> | undefined;
  const answer = (async () => {
    stream = await leases.leaseKeepAlive(withDeadline(timeoutMs));
    const opened = stream;
    return new Promise<number>((resolve, reject) => {
      opened.on('error', (error: Error) => reject(castGrpcError(error)));
      opened.on('data', (response: { TTL?: string | number }) => {
        resolve(Number(response.TTL ?? 0));
        opened.end();
      });
      opened.write({ ID: leaseId });
    });
  })();
  try {
    return await withTimeout(answer, timeoutMs + 100, () => new Error(`no keepalive answer within ${timeoutMs} ms`));
  } catch (error) {
    (stream as { cancel?: () => void } | undefined)?.cancel?.();
    answer.catch(() => undefined);
    throw error;
  }
}
