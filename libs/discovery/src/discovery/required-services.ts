import { Injectable } from '@nestjs/common';

/**
 * The services the app calls, collected from every place that can declare one (the options,
 * @Discoverable({ requires }), each DiscoveryClientsModule entry) before bootstrap watches them.
 */
@Injectable()
export class RequiredServices {
  private readonly names = new Set<string>();

  add(service: string): void {
    this.names.add(service);
  }

  get all(): string[] {
    return [...this.names];
  }
}
