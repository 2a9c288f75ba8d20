import { Injectable } from '@nestjs/common';
import { DiscoveryClient, InjectDiscovery, type ServiceEndpoint } from 'nestjs-etcd-discovery';
import { combineLatest, firstValueFrom, of, shareReplay, switchMap, type Observable } from 'rxjs';

export type Directory = Record<string, readonly ServiceEndpoint[]>;

/** Every service under the namespace with its live instances, as one observable snapshot. */
@Injectable()
export class ServiceDirectory {
  readonly snapshot$: Observable<Directory>;

  constructor(@InjectDiscovery() discovery: DiscoveryClient) {
    this.snapshot$ = discovery.services$().pipe(
      switchMap((names) =>
        names.length === 0 ? of({}) : combineLatest(Object.fromEntries(names.map((name) => [name, discovery.endpoints$(name)]))),
      ),
      shareReplay({ bufferSize: 1, refCount: false }),
    );
  }

  current(): Promise<Directory> {
    return firstValueFrom(this.snapshot$);
  }
}
