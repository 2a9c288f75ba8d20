import { createRequire } from 'node:module';
import {
  loadPackageDefinition,
  Server,
  ServerCredentials,
  status,
  type Metadata,
  type sendUnaryData,
  type ServerDuplexStream,
  type ServerUnaryCall,
  type ServiceClientConstructor,
} from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';

type Services = Record<'KV' | 'Watch' | 'Lease' | 'Auth', ServiceClientConstructor>;

/** etcd's services from the proto etcd3 ships, loaded as etcd3 loads them (keys as Buffers, 64-bit numbers as strings). */
function etcdServices(): Services {
  const protoFile = createRequire(import.meta.url).resolve('etcd3/proto/rpc.proto');
  const definition = loadSync(protoFile, {
    keepCase: true,
    longs: String,
    enums: String,
    defaults: true,
    oneofs: true,
  });
  return (loadPackageDefinition(definition) as unknown as { etcdserverpb: Services }).etcdserverpb;
}

interface StandInWatcher {
  call: ServerDuplexStream<WatchRequest, unknown>;
  id: string;
  key: Buffer;
  rangeEnd: Buffer | undefined;
}
interface WatchRequest {
  create_request?: { key: Buffer; range_end: Buffer; start_revision: string; watch_id: string };
  cancel_request?: { watch_id: string };
}
interface Change {
  key: Buffer;
  value: Buffer;
  revision: number;
}

/** What a create request asked for: where the watch starts, and the metadata of its stream. */
export interface StandInCreate {
  key: string;
  startRevision: number;
  /** The id the create asked for (0: none). */
  askedId: number;
  hasLeader: boolean;
  token: string | undefined;
}

/**
 * A stand-in etcd member: a real gRPC server in the test's process that implements the calls the
 * library's connections and streams make (Auth.Authenticate, KV.Range, Lease.LeaseKeepAlive,
 * Watch.Watch) with etcd's message shapes, so that unit specs can steer tokens, failures, silence,
 * refusals and stream losses exactly and see every request. End-to-end specs use real etcd.
 */
export class StandInEtcd {
  readonly tokensIssued: string[] = [];
  /** Ranges answered UNAVAILABLE while set (a member that fails). */
  unavailable = false;
  /** Nothing answered while set — ranges, keepalives, watch creates (a frozen member keeps its connection). */
  silent = false;
  /** The reason a watch create of `key` is refused, if it is (etcd says `etcdserver: permission denied`). */
  refuseWatch: (key: string) => string | undefined = () => undefined;
  /** Answers a watch create as `etcd grpc-proxy` does when the watch joins one it already has: no term, the watch's start revision. */
  proxyCreatedHeaders = false;
  /** Keepalives answered this late (`etcd grpc-proxy` answers at its own renewals). */
  keepaliveDelayMs = 0;
  /** Watch creates answered this late (`etcd grpc-proxy` creates its watches on etcd one after the other). */
  createDelayMs = 0;
  /** Watch ids chosen here, not the ones creates ask for (`etcd grpc-proxy` does so; etcd keeps them). */
  choosesWatchIds = false;
  /** Watch creates answered this many revisions behind (a follower behind in applying); reads answer at the revision. */
  appliedLag = 0;
  ranges = 0;
  keepalives = 0;
  keepaliveStreams = 0;
  watchStreams = 0;
  /** Every watch create request, in order. */
  readonly creates: StandInCreate[] = [];
  /** The watch ids of the cancel requests received, in order. */
  readonly cancels: number[] = [];
  /** The revision of the last write (`put`). */
  revision = 1;
  /** The raft term in every header: a cluster's rises at each election, and starts over when its data are lost. */
  term = 2;
  /** Watches starting at or below this are cancelled as compacted. */
  compactedRevision = 0;
  private readonly history: Change[] = [];
  private readonly watchers = new Set<StandInWatcher>();
  private readonly calls = new Set<ServerDuplexStream<unknown, unknown>>();
  private nextWatchId = 1;
  private server: Server | undefined;
  private validToken = '';

  /** 0 until started, unless given: a restarted member listens where it did before. */
  constructor(public port = 0) {}

  async start(): Promise<StandInEtcd> {
    const server = new Server();
    const { Auth, KV, Lease, Watch } = etcdServices();
    server.addService(Lease.service, {
      leaseKeepAlive: (call: ServerDuplexStream<{ ID: string }, unknown>) => this.keepAliveStream(call),
    });
    server.addService(Watch.service, {
      watch: (call: ServerDuplexStream<WatchRequest, unknown>) => this.watchStream(call),
    });
    server.addService(Auth.service, {
      authenticate: (_call: ServerUnaryCall<unknown, unknown>, reply: sendUnaryData<unknown>) => {
        this.validToken = `t${this.tokensIssued.length + 1}`;
        this.tokensIssued.push(this.validToken);
        reply(null, { token: this.validToken });
      },
    });
    server.addService(KV.service, {
      range: (call: ServerUnaryCall<unknown, unknown>, reply: sendUnaryData<unknown>) => {
        this.ranges += 1;
        if (this.silent) return;
        if (this.unavailable) return reply({ code: status.UNAVAILABLE, details: 'stand-in member unavailable' });
        if (!this.tokenValid(call.metadata))
          return reply({ code: status.UNAUTHENTICATED, details: 'etcdserver: invalid auth token' });
        reply(null, { header: this.header(), kvs: [], more: false, count: '0' });
      },
    });
    this.port = await new Promise<number>((resolve, reject) =>
      server.bindAsync(`127.0.0.1:${this.port}`, ServerCredentials.createInsecure(), (error, bound) =>
        error ? reject(error) : resolve(bound),
      ),
    );
    this.server = server;
    return this;
  }

  get host(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** etcd forgets its tokens when it restarts (or drops one unused for `--auth-token-ttl`): the one issued last is no longer valid. */
  forgetTokens(): void {
    this.validToken = 'none';
  }

  /** Writes `key` at the next revision and sends it to every watch on it. */
  put(key: string, value: string): number {
    this.revision += 1;
    const change = { key: Buffer.from(key), value: Buffer.from(value), revision: this.revision };
    this.history.push(change);
    for (const watcher of this.watchers) if (matches(watcher, change.key)) this.send(watcher, [change]);
    return this.revision;
  }

  /** A progress notification to every watch: etcd has sent everything up to its revision. */
  progress(): void {
    for (const watcher of this.watchers)
      watcher.call.write({ header: this.header(), watch_id: watcher.id, events: [] });
  }

  /** Ends every watch and keepalive stream, as a member restart does (or, with `etcdserver: no leader`, a member cut off). */
  dropStreams(reason = 'stand-in member restarted'): void {
    for (const call of this.calls) call.emit('error', Object.assign(new Error(reason), { code: status.UNAVAILABLE }));
    this.calls.clear();
    this.watchers.clear();
  }

  /** Forgets every write and starts revisions over, as a member restarted on an empty data dir does (after `dropStreams`). */
  wipe(): void {
    this.history.length = 0;
    this.revision = 1;
  }

  private header(): { revision: string; raft_term: string } {
    return { revision: String(this.revision), raft_term: String(this.term) };
  }

  stop(): void {
    this.server?.forceShutdown();
  }

  private tokenValid(metadata: Metadata): boolean {
    return this.tokensIssued.length === 0 || metadata.get('token')[0] === this.validToken;
  }

  private keepAliveStream(call: ServerDuplexStream<{ ID: string }, unknown>): void {
    this.keepaliveStreams += 1;
    this.track(call);
    call.on('data', (request: { ID: string }) => {
      this.keepalives += 1;
      if (this.silent) return;
      const answer = { header: this.header(), ID: request.ID, TTL: '5' };
      if (this.keepaliveDelayMs > 0) setTimeout(() => call.write(answer), this.keepaliveDelayMs);
      else call.write(answer);
    });
  }

  private watchStream(call: ServerDuplexStream<WatchRequest, unknown>): void {
    this.watchStreams += 1;
    this.track(call);
    call.on('data', (request: WatchRequest) => {
      if (request.cancel_request) {
        this.cancels.push(Number(request.cancel_request.watch_id));
        for (const watcher of this.watchers)
          if (watcher.call === call && watcher.id === request.cancel_request.watch_id) this.watchers.delete(watcher);
        call.write({ header: this.header(), watch_id: request.cancel_request.watch_id, canceled: true });
        return;
      }
      const create = request.create_request;
      if (!create) return;
      const startRevision = Number(create.start_revision);
      this.creates.push({
        key: create.key.toString(),
        startRevision,
        askedId: Number(create.watch_id),
        hasLeader: call.metadata.get('hasleader')[0] === 'true',
        token: call.metadata.get('token')[0] as string | undefined,
      });
      if (this.silent) return;
      if (this.createDelayMs > 0) setTimeout(() => this.answerCreate(call, create, startRevision), this.createDelayMs);
      else this.answerCreate(call, create, startRevision);
    });
  }

  private answerCreate(
    call: ServerDuplexStream<WatchRequest, unknown>,
    create: NonNullable<WatchRequest['create_request']>,
    startRevision: number,
  ): void {
    const header = this.header();
    const refusal = !this.tokenValid(call.metadata)
      ? 'etcdserver: permission denied'
      : this.refuseWatch(create.key.toString());
    if (refusal) {
      call.write({ header, watch_id: '-1', created: true, canceled: true, cancel_reason: refusal });
      return;
    }
    const asked = Number(create.watch_id) > 0 && !this.choosesWatchIds;
    const id = asked ? create.watch_id : String(this.nextWatchId++);
    const applied = { ...header, revision: String(this.revision - this.appliedLag) };
    call.write({
      header: this.proxyCreatedHeaders ? { revision: String(startRevision), raft_term: '0' } : applied,
      watch_id: id,
      created: true,
    });
    const watcher = {
      call,
      id,
      key: create.key,
      rangeEnd: create.range_end.length > 0 ? create.range_end : undefined,
    };
    if (startRevision > 0 && startRevision <= this.compactedRevision) {
      call.write({ header, watch_id: id, canceled: true, compact_revision: String(this.compactedRevision) });
      return;
    }
    this.watchers.add(watcher);
    const missed = this.history.filter((change) => change.revision >= startRevision && matches(watcher, change.key));
    if (missed.length > 0) this.send(watcher, missed);
  }

  private track(call: ServerDuplexStream<unknown, unknown>): void {
    this.calls.add(call);
    const forget = () => {
      this.calls.delete(call);
      for (const watcher of this.watchers) if (watcher.call === call) this.watchers.delete(watcher);
    };
    call.on('end', () => {
      forget();
      call.end();
    });
    call.on('error', forget);
    call.on('cancelled', forget);
  }

  private send(watcher: StandInWatcher, changes: Change[]): void {
    const events = changes.map((change) => ({
      type: 'Put',
      kv: { key: change.key, value: change.value, mod_revision: String(change.revision), version: '1' },
    }));
    watcher.call.write({ header: this.header(), watch_id: watcher.id, events });
  }
}

function matches(watcher: StandInWatcher, key: Buffer): boolean {
  if (!watcher.rangeEnd) return key.equals(watcher.key);
  return Buffer.compare(key, watcher.key) >= 0 && Buffer.compare(key, watcher.rangeEnd) < 0;
}
