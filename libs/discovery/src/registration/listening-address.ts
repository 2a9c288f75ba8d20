import { Injectable } from '@nestjs/common';
import { HttpAdapterHost, ModulesContainer } from '@nestjs/core';
import type { AddressInfo } from 'node:net';
import { filter, map, merge, of, take, type Observable } from 'rxjs';

/** The parts of a Nest microservice server (`@nestjs/microservices` `Server`) that we read. */
interface RpcServer {
  status: Observable<string>;
  unwrap<T>(): T;
}

function isRpcServer(target: unknown): target is RpcServer {
  const candidate = target as Partial<RpcServer> | undefined;
  return typeof candidate?.unwrap === 'function' && typeof candidate.status?.subscribe === 'function';
}

function boundAddress(server: unknown): AddressInfo | undefined {
  const address = (server as { address?: () => unknown } | undefined)?.address?.();
  return typeof address === 'object' && address !== null ? (address as AddressInfo) : undefined;
}

/**
 * Tells when the app's server accepts connections, and on which address — through public Nest APIs
 * only: the RPC target registry and each server's `status` for microservices, `HttpAdapterHost`
 * for HTTP. A TCP microservice (standalone or in a hybrid app) wins over the HTTP server.
 */
@Injectable()
export class ListeningAddress {
  constructor(
    private readonly httpAdapterHost: HttpAdapterHost,
    private readonly modulesContainer: ModulesContainer,
  ) {}

  /** Emits the bound address once, when it accepts connections; undefined when the app has no server at all. */
  whenListening(): Observable<AddressInfo> | undefined {
    const rpcServers: RpcServer[] = [];
    // A ReplaySubject: it hands over the servers created so far synchronously.
    this.modulesContainer
      .getRpcTargetRegistry()
      .subscribe((target) => {
        if (isRpcServer(target)) rpcServers.push(target);
      })
      .unsubscribe();
    if (rpcServers.length > 0) {
      // Broker transports (Redis, NATS …) report 'connected' too, but unwrap to a client that has
      // no bound address: only servers that listen on a socket have one to advertise.
      const addresses = rpcServers.map((server) =>
        server.status.pipe(
          filter((status) => status === 'connected'),
          map(() => boundAddress(server.unwrap())),
        ),
      );
      return merge(...addresses).pipe(
        filter((address): address is AddressInfo => address !== undefined),
        take(1),
      );
    }
    const adapter = this.httpAdapterHost.httpAdapter;
    if (!adapter) return undefined;
    // listen$ completes after its one emission: an app that already listens has to be read directly.
    const listening$ = this.httpAdapterHost.listening ? of(undefined) : this.httpAdapterHost.listen$;
    return listening$.pipe(
      map(() => boundAddress(adapter.getHttpServer())),
      filter((address): address is AddressInfo => address !== undefined),
      take(1),
    );
  }
}
