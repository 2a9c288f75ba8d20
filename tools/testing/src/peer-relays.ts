import { connect, createServer, type Server, type Socket } from 'node:net';
import { socketOwner } from './connections.js';

/** One member's relay: where its peers reach it (the port it advertises), and where it really listens. */
interface Relay {
  server: Server;
  advertisedPort: number;
  listenPort: number;
  /** Every connection through it, with the member (index) whose process opened it, if it is one of them. */
  connections: Map<Socket, number | undefined>;
}

/**
 * A cluster's peer traffic through relays in the test's process, so that a test can cut a member off
 * from the others — a network partition on loopback, with no privileges and no firewall. Each member
 * listens for its peers on a port of its own and advertises its relay's port instead; a relay tells
 * which member opened a connection from the process that owns the other end (read from /proc: raft's
 * own requests name their sender, but a lease renewal forwarded to the leader does not). A member cut
 * off (`cut`) has every connection to it or from it dropped and new ones closed at once — both ways,
 * as a partition does — while its clients still reach it: what etcd's require-leader flag is for.
 */
export class PeerRelays {
  private readonly relays: Relay[] = [];
  private readonly cutOff = new Set<number>();

  private constructor(
    /** The process id of each member now (they change when a member restarts). */
    private readonly pids: () => readonly (number | undefined)[],
  ) {}

  /** Starts a relay from `advertisedPort` to `listenPort` for each member, in the members' order. */
  static async start(
    members: readonly { advertisedPort: number; listenPort: number }[],
    pids: () => readonly (number | undefined)[],
  ): Promise<PeerRelays> {
    const relays = new PeerRelays(pids);
    for (const member of members) await relays.add(member.advertisedPort, member.listenPort);
    return relays;
  }

  /** Cuts member `index` off from its peers. */
  cut(index: number): void {
    this.cutOff.add(index);
    this.relays.forEach((relay, at) => {
      for (const [socket, from] of relay.connections) if (at === index || from === index) socket.destroy();
    });
  }

  /** Lets every member reach the others again. */
  heal(): void {
    this.cutOff.clear();
  }

  async close(): Promise<void> {
    for (const relay of this.relays) {
      for (const socket of relay.connections.keys()) socket.destroy();
      await new Promise((resolve) => relay.server.close(resolve));
    }
  }

  private async add(advertisedPort: number, listenPort: number): Promise<void> {
    const relay: Relay = { server: createServer(), advertisedPort, listenPort, connections: new Map() };
    relay.server.on('connection', (incoming) => this.relay(relay, incoming));
    await new Promise<void>((resolve, reject) => {
      relay.server.once('error', reject);
      relay.server.listen(advertisedPort, '127.0.0.1', resolve);
    });
    this.relays.push(relay);
  }

  private relay(relay: Relay, incoming: Socket): void {
    const owner = socketOwner(incoming.remotePort!, relay.advertisedPort, this.pids());
    const from = owner === undefined ? undefined : this.pids().indexOf(owner);
    if (this.cutOff.has(this.relays.indexOf(relay)) || (from !== undefined && this.cutOff.has(from)))
      return void incoming.destroy();
    const outgoing = connect(relay.listenPort, '127.0.0.1');
    relay.connections.set(incoming, from);
    const close = () => {
      relay.connections.delete(incoming);
      incoming.destroy();
      outgoing.destroy();
    };
    for (const socket of [incoming, outgoing]) {
      socket.on('error', close);
      socket.on('close', close);
    }
    incoming.pipe(outgoing);
    outgoing.pipe(incoming);
  }
}
