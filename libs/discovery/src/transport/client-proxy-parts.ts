import { Injectable } from '@nestjs/common';
import { CallAttempts } from '../calls/call-attempts.js';
import { CatalogWatches } from '../catalog/catalog-watches.js';
import { ServicePicks } from '../picking/service-picks.js';
import { ServiceWatches } from '../watch/service-watches.js';

/**
 * What a `DiscoveryClientProxy` uses of discovery, handed to it in one piece: the internal providers
 * for calls, lists, the catalog and picks — never the public `DiscoveryClient`.
 */
@Injectable()
export class ClientProxyParts {
  constructor(
    readonly attempts: CallAttempts,
    readonly watches: ServiceWatches,
    readonly catalog: CatalogWatches,
    readonly picks: ServicePicks,
  ) {}
}
