import type { ChildProcess } from 'node:child_process';
import { Etcd3 } from 'etcd3';
import { exited, spawnKeepingOutput } from './child-processes.js';
import { freePort } from './free-port.js';
import { metricSum } from './prometheus-text.js';
import { waitFor } from './wait.js';

/**
 * etcd's own gRPC proxy (`etcd grpc-proxy start`, from the same Debian package as the server) on
 * loopback, in front of a cluster's members: it coalesces the watches and lease keepalives of its
 * clients into streams of its own, and caches serializable reads. Restartable on its port.
 */
export class EtcdGrpcProxy {
  private child: ChildProcess | undefined;
  private output: () => string = () => '';

  private constructor(
    private readonly endpoints: readonly string[],
    private readonly port: number,
    private readonly metricsPort: number,
  ) {}

  static async start(endpoints: readonly string[]): Promise<EtcdGrpcProxy> {
    const proxy = new EtcdGrpcProxy(endpoints, await freePort(), await freePort());
    await proxy.launch();
    return proxy;
  }

  /** `127.0.0.1:port`, what `etcd.hosts`/ETCD_HOSTS take. */
  get host(): string {
    return `127.0.0.1:${this.port}`;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Starts the proxy (again, on the same port) and waits until it serves a read. */
  async launch(): Promise<void> {
    const { child, output } = spawnKeepingOutput('etcd', [
      'grpc-proxy',
      'start',
      `--endpoints=${this.endpoints.join(',')}`,
      `--listen-addr=${this.host}`,
      `--advertise-client-url=${this.host}`,
      `--metrics-addr=http://127.0.0.1:${this.metricsPort}`,
    ]);
    this.child = child;
    this.output = output;
    const client = new Etcd3({ hosts: [this.host], dialTimeout: 1000 });
    try {
      await waitFor(
        `etcd grpc-proxy on ${this.host} to serve`,
        async () => {
          if (!this.running) throw new Error(`etcd grpc-proxy exited: ${this.output()}`);
          await client.get('grpc-proxy-ready').options({ deadline: Date.now() + 1000 });
          return true;
        },
        { timeoutMs: 20_000, intervalMs: 100 },
      );
    } finally {
      client.close();
    }
  }

  /** Stops the proxy (SIGTERM, or SIGKILL for a crash) and waits for it to exit. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const child = this.child;
    if (!child || !this.running) return;
    child.kill(signal);
    await exited(child);
  }

  /** The sum of one of the proxy's metrics (all label sets, or those whose labels contain `labelFilter`). */
  metric(name: string, labelFilter = ''): Promise<number> {
    return metricSum(`http://127.0.0.1:${this.metricsPort}/metrics`, name, labelFilter);
  }

  async destroy(): Promise<void> {
    await this.stop('SIGKILL');
  }
}
