import { execFile, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { promisify } from 'node:util';
import { Etcd3 } from 'etcd3';
import { exited, spawnKeepingOutput } from './child-processes.js';
import { memberSpecs, type MemberSpec } from './etcd-member-spec.js';
import { metricSum, metricSums } from './prometheus-text.js';
import { waitFor } from './wait.js';

const run = promisify(execFile);

/** PEM files for an etcd that serves clients over TLS and requires client certificates. */
export interface EtcdTlsFiles {
  caFile: string;
  certFile: string;
  keyFile: string;
  /** A client certificate signed by the same CA, for etcdctl and the health check. */
  clientCertFile: string;
  clientKeyFile: string;
}

/**
 * One etcd member on loopback with its own free ports and temp data dir. Start one alone with
 * `EtcdServer.start()`, or three as a cluster with `EtcdCluster.start(3)`.
 */
export class EtcdServer {
  private child: ChildProcess | undefined;
  private output: () => string = () => '';
  private readonly clients: Etcd3[] = [];

  private constructor(
    private readonly spec: MemberSpec,
    private readonly initialCluster: string,
    private readonly clusterToken: string,
    private readonly extraArgs: readonly string[] = [],
    private readonly tls?: EtcdTlsFiles,
  ) {}

  /**
   * Starts a one-member cluster; on `clientPort` if given (a port a test has already handed to an
   * app), with `extraArgs` added to etcd's command line (e.g. `--max-txn-ops=2000`).
   */
  static async start({
    clientPort,
    extraArgs = [],
    tls,
  }: { clientPort?: number; extraArgs?: string[]; tls?: EtcdTlsFiles } = {}): Promise<EtcdServer> {
    const [spec] = await memberSpecs(1, clientPort);
    const server = new EtcdServer(
      spec,
      `${spec.name}=http://127.0.0.1:${spec.peerPort}`,
      `solo-${spec.clientPort}`,
      extraArgs,
      tls,
    );
    await server.launch('new');
    await server.waitHealthy();
    return server;
  }

  /** `127.0.0.1:port`, what `etcd.hosts`/ETCD_HOSTS take. */
  get host(): string {
    return `127.0.0.1:${this.spec.clientPort}`;
  }

  get name(): string {
    return this.spec.name;
  }

  /** The peer port it advertises. */
  get peerPort(): number {
    return this.spec.peerPort;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** The etcd process's id while it runs (its CPU time, in benchmarks). */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** `http://host:port`, or `https://` when it serves TLS. */
  get url(): string {
    return `${this.tls ? 'https' : 'http'}://${this.host}`;
  }

  /**
   * An etcd3 client of this member, for a test's own reads and writes (over TLS when it serves TLS,
   * with the client certificate). Closed by `destroy()`.
   */
  client(): Etcd3 {
    const credentials = this.tls && {
      rootCertificate: readFileSync(this.tls.caFile),
      certChain: readFileSync(this.tls.clientCertFile),
      privateKey: readFileSync(this.tls.clientKeyFile),
    };
    const client = new Etcd3({ hosts: [this.url], ...(credentials ? { credentials } : {}) });
    this.clients.push(client);
    return client;
  }

  /** Runs etcdctl (API v3) against this member and returns its stdout. */
  async etcdctl(...args: string[]): Promise<string> {
    const tlsArgs = this.tls
      ? [`--cacert=${this.tls.caFile}`, `--cert=${this.tls.clientCertFile}`, `--key=${this.tls.clientKeyFile}`]
      : [];
    const { stdout } = await run('etcdctl', [`--endpoints=${this.url}`, ...tlsArgs, ...args], {
      env: { ...process.env, ETCDCTL_API: '3' },
    });
    return stdout;
  }

  /** Stops the member (SIGTERM, or SIGKILL for a crash) and waits for it to exit. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const child = this.child;
    if (!child || !this.running) return;
    child.kill(signal);
    await exited(child);
  }

  /** Starts the member again: with its data, or with an empty data dir (revisions start over). */
  async restart({ wipe = false }: { wipe?: boolean } = {}): Promise<void> {
    await this.stop();
    if (wipe) await this.wipe();
    await this.launch(wipe ? 'new' : 'existing');
    await this.waitHealthy();
  }

  /** A crash: kills the member (SIGKILL), waits `downMs`, starts it again on its data and waits until it is healthy. */
  async killAndStartAgain(downMs: number): Promise<void> {
    await this.stop('SIGKILL');
    await new Promise((resolve) => setTimeout(resolve, downMs));
    await this.launch('existing');
    await this.waitHealthy();
  }

  /** Empties the data dir of a stopped member. */
  async wipe(): Promise<void> {
    await rm(this.spec.dataDir, { recursive: true, force: true });
  }

  async launch(state: 'new' | 'existing'): Promise<void> {
    const { name, clientPort, peerPort, dataDir } = this.spec;
    const client = `${this.tls ? 'https' : 'http'}://127.0.0.1:${clientPort}`;
    const tlsArgs = this.tls
      ? [
          `--cert-file=${this.tls.certFile}`,
          `--key-file=${this.tls.keyFile}`,
          `--trusted-ca-file=${this.tls.caFile}`,
          '--client-cert-auth',
        ]
      : [];
    const peer = `http://127.0.0.1:${peerPort}`;
    const listenPeer = `http://127.0.0.1:${this.spec.listenPeerPort ?? peerPort}`;
    const { child, output } = spawnKeepingOutput('etcd', [
      `--name=${name}`,
      `--data-dir=${dataDir}`,
      `--listen-client-urls=${client}`,
      `--advertise-client-urls=${client}`,
      `--listen-peer-urls=${listenPeer}`,
      `--initial-advertise-peer-urls=${peer}`,
      `--initial-cluster=${this.initialCluster}`,
      `--initial-cluster-state=${state}`,
      `--initial-cluster-token=${this.clusterToken}`,
      '--log-level=error',
      '--logger=zap',
      ...tlsArgs,
      ...this.extraArgs,
    ]);
    this.child = child;
    this.output = output;
  }

  async waitHealthy(timeoutMs = 20_000): Promise<void> {
    await waitFor(
      `etcd ${this.spec.name} on ${this.host} to be healthy`,
      async () => {
        if (!this.running) throw new Error(`etcd exited: ${this.output()}`);
        // etcdctl reports health on stderr; its exit code says it all.
        if (this.tls) return this.etcdctl('endpoint', 'health').then(() => true);
        const response = await fetch(`http://${this.host}/health`);
        const body = (await response.json()) as { health?: string };
        return body.health === 'true';
      },
      { timeoutMs, intervalMs: 100 },
    );
  }

  /**
   * The sum of one metric from etcd's /metrics (all label sets, or those whose labels contain
   * `labelFilter`), e.g. `grpc_server_handled_total` with `grpc_method="Range"`.
   */
  metric(name: string, labelFilter = ''): Promise<number> {
    return metricSum(`http://${this.host}/metrics`, name, labelFilter);
  }

  /** One sum of the metric per label filter, all from one scrape of /metrics (see `metricSums`). */
  metrics(name: string, labelFilters: string[]): Promise<number[]> {
    return metricSums(`http://${this.host}/metrics`, name, labelFilters);
  }

  /** Freezes (SIGSTOP) or thaws (SIGCONT) the member: it keeps its sockets but answers nothing. */
  signal(signal: 'SIGSTOP' | 'SIGCONT'): void {
    this.child?.kill(signal);
  }

  /** Closes the clients it gave, stops the member for good and removes its data dir. */
  async destroy(): Promise<void> {
    for (const client of this.clients.splice(0)) client.close();
    await this.stop('SIGKILL');
    await rm(this.spec.dataDir, { recursive: true, force: true });
  }

  static fromSpec(spec: MemberSpec, initialCluster: string, token: string): EtcdServer {
    return new EtcdServer(spec, initialCluster, token);
  }
}
