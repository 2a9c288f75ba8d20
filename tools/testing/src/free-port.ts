import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

const handedOut = new Set<number>();

/** Ports handed out per process: each test worker has a slice of its own, so that two workers never pick the same. */
const SLICE = 1500;
const SLICES = 10;

/** The lowest port the OS gives outgoing connections (Linux: 32768 unless configured otherwise). */
function ephemeralLow(): number {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return Number.isInteger(low) ? low : 32768;
  } catch {
    return 32768;
  }
}

/** This process's slice of ports below the OS's ephemeral range, or undefined if there is no room below it. */
function slice(): { from: number; size: number } | undefined {
  const bottom = ephemeralLow() - SLICE * SLICES;
  if (bottom < 10_000) return undefined;
  const worker = Number(process.env.VITEST_POOL_ID ?? process.pid);
  return { from: bottom + (worker % SLICES) * SLICE, size: SLICE };
}

/**
 * `port` if nothing listens on it on 127.0.0.1 now, else undefined; `port` 0: a port the OS picks (and if even that
 * fails, the error: no retry would help).
 */
function listenable(port: number): Promise<number | undefined> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', (error) => (port === 0 ? reject(error) : resolve(undefined)));
    server.listen(port, '127.0.0.1', () => {
      const { port: picked } = server.address() as { port: number };
      server.close(() => resolve(picked));
    });
  });
}

/**
 * A TCP port on 127.0.0.1 that nothing listens on right now, never the same one twice in a test process, so that
 * two ports asked for in a row cannot collide. It is below the OS's ephemeral range: a port from that range, free
 * while an etcd was stopped, could be taken meanwhile as the source port of any outgoing connection, and the etcd
 * started again on it failed ("bind: address already in use": seen in etcd-connections e2e, 20 restarts, with other e2e files running).
 */
export async function freePort(): Promise<number> {
  const ports = slice();
  for (let tries = 0; ; tries += 1) {
    const wanted = ports === undefined || tries > 200 ? 0 : ports.from + Math.floor(Math.random() * ports.size);
    if (handedOut.has(wanted)) continue;
    const port = await listenable(wanted);
    if (port !== undefined && !handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
}
