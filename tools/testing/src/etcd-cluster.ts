import { Etcd3 } from 'etcd3';
import { EtcdServer } from './etcd.js';
import { memberSpecs } from './etcd-member-spec.js';
import { PeerRelays } from './peer-relays.js';
import { waitFor } from './wait.js';

/** Three (or n) members forming one cluster on loopback, for failover tests. */
export class EtcdCluster {
  private readonly clients: Etcd3[] = [];

  private constructor(
    readonly members: EtcdServer[],
    private readonly relays?: PeerRelays,
  ) {}

  /**
   * Starts the members; `partitionable`: their peer traffic goes through relays in this process,
   * so that `cutOff()` can cut one off from the others (see `PeerRelays`).
   */
  static async start(size = 3, { partitionable = false }: { partitionable?: boolean } = {}): Promise<EtcdCluster> {
    const specs = await memberSpecs(size, undefined, partitionable);
    const initialCluster = specs.map((spec) => `${spec.name}=http://127.0.0.1:${spec.peerPort}`).join(',');
    const token = `cluster-${specs[0].clientPort}`;
    const members = specs.map((spec) => EtcdServer.fromSpec(spec, initialCluster, token));
    const relays = partitionable
      ? await PeerRelays.start(
          specs.map((spec) => ({ advertisedPort: spec.peerPort, listenPort: spec.listenPeerPort! })),
          () => members.map((member) => member.pid),
        )
      : undefined;
    await Promise.all(members.map((member) => member.launch('new')));
    await Promise.all(members.map((member) => member.waitHealthy()));
    return new EtcdCluster(members, relays);
  }

  /** The id of `member` (hex), as etcd names it in `etcdctl move-leader`, from etcd's member list. */
  async idOf(member: EtcdServer): Promise<string> {
    // Simple format, a line a member: "<id hex>, started, <name>, <peer urls>, <client urls>, <is learner>".
    const lines = (await this.members[0].etcdctl('member', 'list')).split('\n').filter(Boolean);
    const line = lines.find((candidate) => candidate.split(', ')[2] === member.name)!;
    return line.split(', ')[0];
  }

  /**
   * Cuts `member` off from the other members (a partition); its clients still reach it. Returns the
   * moment of the cut (`Date.now()`). Needs `partitionable`.
   */
  cutOff(member: EtcdServer): number {
    if (!this.relays) throw new Error('start the cluster with { partitionable: true } to cut a member off');
    this.relays.cut(this.members.indexOf(member));
    return Date.now();
  }

  /** Ends every partition made by `cutOff()`. */
  heal(): void {
    this.relays?.heal();
  }

  get hosts(): string[] {
    return this.members.map((member) => member.host);
  }

  /** An etcd3 client of `members` (every member by default), for a test's own reads and writes. Closed by `destroy()`. */
  client(members: readonly EtcdServer[] = this.members): Etcd3 {
    const client = new Etcd3({ hosts: members.map((member) => member.host) });
    this.clients.push(client);
    return client;
  }

  /** The member that leads right now (from each running member's `etcd_server_is_leader` metric). */
  async leader(): Promise<EtcdServer> {
    return waitFor('a leader', async () => {
      for (const member of this.members) {
        if (member.running && (await member.metric('etcd_server_is_leader').catch(() => 0)) === 1) return member;
      }
      return undefined;
    });
  }

  /** Stops every member and starts them again together (a quorum needs them at once), with data or wiped. */
  async restartAll({ wipe = false }: { wipe?: boolean } = {}): Promise<void> {
    await Promise.all(this.members.map((member) => member.stop()));
    if (wipe) await Promise.all(this.members.map((member) => member.wipe()));
    await Promise.all(this.members.map((member) => member.launch(wipe ? 'new' : 'existing')));
    await Promise.all(this.members.map((member) => member.waitHealthy()));
  }

  async destroy(): Promise<void> {
    for (const client of this.clients.splice(0)) client.close();
    await Promise.all(this.members.map((member) => member.destroy()));
    await this.relays?.close();
  }
}
