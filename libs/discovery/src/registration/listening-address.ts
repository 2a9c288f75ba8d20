import { Injectable } from '@nestjs/common';
import { HttpAdapterHost, ModulesContainer } from '@nestjs/core';
import type { AddressInfo } from 'node:net';
import { combineLatest, filter, map, of, take, type Observable } from 'rxjs';

/** The parts of a Nest microservice server (`@nestjs/microservices` `Server`) that we read. */
interface RpcServer {
  status: Observable<string>;
  unwrap<T>(): T;
}

function isRpcServer(target: unknown): target is RpcServer {
  return typeof (target as Partial<RpcServer> | undefined)?.unwrap === 'function';
}

/** The server's status stream; undefined where reading it throws (the gRPC server does). */
function statusOf(server: RpcServer): Observable<string> | undefined {
  try {
    const status = server.status;
    return typeof status?.subscribe === 'function' ? status : undefined;
  } catch {
    return undefined;
  }
}

/** The address a socket server (net, tls, http) is bound to; undefined for anything else. */
function boundAddress(server: unknown): AddressInfo | undefined {
  const address = (server as { address?: () => unknown } | undefined)?.address?.();
  return typeof address === 'object' && address !== null ? (address as AddressInfo) : undefined;
}

/** The bound address of a microservice server that listens on a socket (TCP), if any. */
function rpcBoundAddress(server: RpcServer): AddressInfo | undefined {
  try {
    return boundAddress(server.unwrap());
  } catch {
    return undefined; // unwrap() throws for servers that expose nothing to unwrap
  }
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

  /**
   * Emits once, when the app's servers accept connections: the bound address, or undefined for a
   * server that tells neither (gRPC: give `port` in @Discoverable, whose first accepted connection
   * then marks the server ready). Returns undefined when the app has no server at all.
   */
  whenListening(): Observable<AddressInfo | undefined> | undefined {
    const rpcServers: RpcServer[] = [];
    // A ReplaySubject: it hands over the servers created so far synchronously.
    this.modulesContainer
      .getRpcTargetRegistry()
      .subscribe((target) => {
        if (isRpcServer(target)) rpcServers.push(target);
      })
      .unsubscribe();
    if (rpcServers.length > 0) {
      // Every server must be up. Broker transports (Redis, NATS …) and gRPC report 'connected' too,
      // but unwrap to something without a bound address: the first server that has one is advertised.
      // A server without a status (gRPC) cannot say when it listens: the registration then waits until
      // its declared port accepts a connection.
      const addresses = rpcServers.map((server) => {
        const status = statusOf(server);
        if (!status) return of(undefined);
        return status.pipe(
          filter((state) => state === 'connected'),
          take(1),
          map(() => rpcBoundAddress(server)),
        );
      });
      return combineLatest(addresses).pipe(map((found) => found.find((address) => address !== undefined)));
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
