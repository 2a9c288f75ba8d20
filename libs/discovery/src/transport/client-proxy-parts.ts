import { Injectable } from '@nestjs/common';
import { CallAttempts } from '../calls/call-attempts.js';
import { CatalogWatches } from '../catalog/catalog-watches.js';
import { ServicePicks } from '../picking/service-picks.js';
import { ServiceWatches } from '../watch/service-watches.js';

/** A `DiscoveryClientsModule` entry, as bootstrap needs it: what to watch before the app is up. */
export interface DeclaredClient {
  service: string | undefined;
  byPattern: boolean;
}

/**
 * What a `DiscoveryClientProxy` uses of discovery, handed to it in one piece: the internal providers
 * for calls, lists, the catalog and picks — never the public `DiscoveryClient` — and the list of the
 * clients made with them (read at bootstrap without loading the proxies' class, and so
 * `@nestjs/microservices`, in an app that has none).
 */
@Injectable()
export class ClientProxyParts {
  readonly declared: DeclaredClient[] = [];

  constructor(
    readonly attempts: CallAttempts,
    readonly watches: ServiceWatches,
    readonly catalog: CatalogWatches,
    readonly picks: ServicePicks,
  ) {}
}
