import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './free-port.js';

/** One etcd member's name, ports and data dir. */
export interface MemberSpec {
  name: string;
  clientPort: number;
  /** The peer port the member advertises (a relay's, see `PeerRelays`, when it listens elsewhere). */
  peerPort: number;
  /** Where it listens for its peers, when not on `peerPort`. */
  listenPeerPort?: number;
  dataDir: string;
}

/** `count` members' specs: free ports, new temp data dirs; `relayed`: peers reach them through relays (see `PeerRelays`). */
export async function memberSpecs(count: number, firstClientPort?: number, relayed = false): Promise<MemberSpec[]> {
  const specs: MemberSpec[] = [];
  for (let index = 0; index < count; index += 1) {
    const clientPort = index === 0 && firstClientPort !== undefined ? firstClientPort : await freePort();
    const peerPort = await freePort();
    const listenPeerPort = relayed ? await freePort() : undefined;
    const dataDir = await mkdtemp(join(tmpdir(), 'etcd-test-'));
    specs.push({
      name: `member${index}-${clientPort}`,
      clientPort,
      peerPort,
      ...(listenPeerPort ? { listenPeerPort } : {}),
      dataDir,
    });
  }
  return specs;
}
