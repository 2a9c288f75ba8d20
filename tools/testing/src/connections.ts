import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

/**
 * The ESTABLISHED TCP connections that process `pid` holds to each of `ports` (on any address),
 * read from /proc: its socket fds, matched by inode against its network namespace's TCP tables.
 */
export function establishedConnections(pid: number, ports: readonly number[]): Map<number, number> {
  const sockets = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    const target = readLink(`/proc/${pid}/fd/${fd}`);
    const inode = /^socket:\[(\d+)\]$/.exec(target)?.[1];
    if (inode) sockets.add(inode);
  }
  const counts = new Map(ports.map((port) => [port, 0]));
  for (const table of ['tcp', 'tcp6']) {
    // Columns: sl local_address rem_address st … inode (the tenth); st 01 is ESTABLISHED.
    for (const line of readFileSync(`/proc/${pid}/net/${table}`, 'utf8').split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      if (fields.length < 10 || fields[3] !== '01' || !sockets.has(fields[9])) continue;
      const port = parseInt(fields[2].split(':')[1], 16);
      const count = counts.get(port);
      if (count !== undefined) counts.set(port, count + 1);
    }
  }
  return counts;
}

/**
 * Which of `pids` owns the TCP socket connected from local port `port` to remote port `to` (on
 * loopback), read from /proc: the socket's inode in the TCP table, then whose fds hold it.
 */
export function socketOwner(port: number, to: number, pids: readonly (number | undefined)[]): number | undefined {
  let inode: string | undefined;
  for (const table of ['tcp', 'tcp6']) {
    for (const line of readFileSync(`/proc/net/${table}`, 'utf8').split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      if (fields.length < 10) continue;
      const local = parseInt(fields[1].split(':')[1], 16);
      const remote = parseInt(fields[2].split(':')[1], 16);
      if (local === port && remote === to) inode = fields[9];
    }
  }
  if (inode === undefined) return undefined;
  return pids.find((pid) => {
    if (pid === undefined) return false;
    try {
      return readdirSync(`/proc/${pid}/fd`).some((fd) => readLink(`/proc/${pid}/fd/${fd}`) === `socket:[${inode}]`);
    } catch {
      return false; // exited meanwhile
    }
  });
}

/** How many file descriptors process `pid` has open. */
export function openFileDescriptors(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

function readLink(path: string): string {
  try {
    return readlinkSync(path);
  } catch {
    return ''; // closed between the listing and the read
  }
}
