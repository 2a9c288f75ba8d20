import { Injectable, type OnModuleInit } from '@nestjs/common';
import { createRequire } from 'node:module';
import { asapScheduler, observeOn, type Subscription } from 'rxjs';
import { ServiceWatches } from '../watch/service-watches.js';
import { isUp } from '../service-endpoint.interface.js';

/** The parts of @grpc/grpc-js' `experimental` API a resolver needs (stable since grpc-js 1.10). */
interface GrpcUri {
  scheme?: string;
  authority?: string;
  path: string;
}
type ResolverListener = (
  endpoints: { ok: true; value: { addresses: { host: string; port: number }[] }[] },
  attributes: object,
  serviceConfig: null,
  note: string,
) => boolean;
interface GrpcExperimental {
  registerResolver(scheme: string, resolverClass: unknown): void;
}

export const ETCD_GRPC_SCHEME = 'etcd';

/**
 * A grpc-js name resolver for `etcd:///<service>`: a Nest gRPC client configured with
 * `url: 'etcd:///log-service'` (and grpc-js' `round_robin` policy) spreads its calls over the live
 * instances and follows every change, from the same watch that `endpoints$` uses.
 */
export interface EtcdResolverClass {
  new (target: GrpcUri, listener: ResolverListener): { updateResolution(): void; destroy(): void };
  getDefaultAuthority(target: GrpcUri): string;
}

export function createEtcdResolverClass(watches: ServiceWatches): EtcdResolverClass {
  return class EtcdResolver {
    private subscription: Subscription | undefined;

    constructor(
      private readonly target: GrpcUri,
      private readonly listener: ResolverListener,
    ) {}

    static getDefaultAuthority(target: GrpcUri): string {
      return target.path.replace(/^\//, '');
    }

    updateResolution(): void {
      if (this.subscription) return;
      const service = EtcdResolver.getDefaultAuthority(this.target);
      this.subscription = watches
        .observe(service, (watch) => watch.endpoints$)
        // grpc-js forbids calling the listener synchronously from updateResolution().
        .pipe(observeOn(asapScheduler))
        .subscribe((listed) => {
          // Only instances that take calls: not those draining at shutdown or set down.
          const endpoints = listed.filter(isUp);
          const value = endpoints.map((endpoint) => ({ addresses: [{ host: endpoint.host, port: endpoint.port }] }));
          this.listener({ ok: true, value }, {}, null, `etcd: ${endpoints.length} instance(s) of ${service}`);
        });
    }

    destroy(): void {
      this.subscription?.unsubscribe();
      this.subscription = undefined;
    }
  };
}

/**
 * Registers the `etcd:` scheme with the @grpc/grpc-js that @nestjs/microservices loads (the user's
 * copy, never a private one), when both are installed. grpc-js keeps resolvers per process: with
 * several Nest apps in one process, the last one initialised resolves `etcd:///` names.
 */
@Injectable()
export class EtcdGrpcResolverRegistration implements OnModuleInit {
  constructor(private readonly watches: ServiceWatches) {}

  onModuleInit(): void {
    const grpc = loadGrpcOfNestMicroservices();
    if (!grpc) return;
    // Silently: an app that uses no gRPC should read nothing about it.
    grpc.registerResolver(ETCD_GRPC_SCHEME, createEtcdResolverClass(this.watches));
  }
}

function loadGrpcOfNestMicroservices(): GrpcExperimental | undefined {
  try {
    const requireFromHere = createRequire(import.meta.url);
    const requireFromMicroservices = createRequire(requireFromHere.resolve('@nestjs/microservices'));
    return (requireFromMicroservices('@grpc/grpc-js') as { experimental: GrpcExperimental }).experimental;
  } catch {
    return undefined; // gRPC not installed: nothing to resolve.
  }
}
