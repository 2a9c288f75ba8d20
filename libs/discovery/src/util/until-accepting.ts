import { connect } from 'node:net';

/**
 * Resolves once `host:port` accepts a TCP connection, trying every `intervalMs`; resolves false
 * if `signal` aborts first. For servers that cannot tell when they listen (gRPC).
 */
export async function untilAccepting(
  host: string,
  port: number,
  signal: AbortSignal,
  intervalMs = 100,
): Promise<boolean> {
  while (!signal.aborted) {
    const accepted = await new Promise<boolean>((resolve) => {
      const socket = connect(port, host);
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (accepted) return true;
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
  return false;
}
