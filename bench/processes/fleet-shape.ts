/** What each simulated app of the fleet bench is: the same for the library's apps and the bare etcd3 ones. */

/** The services app number `index` registers under and watches: its own, fleet-common and the next two. */
export function fleetServices(index: number, services: number): { own: string; requires: string[] } {
  const own = index % services;
  return {
    own: `fleet-${own}`,
    requires: ['fleet-common', `fleet-${(own + 1) % services}`, `fleet-${(own + 2) % services}`],
  };
}

/** A distinct address for app number `index`. */
export function fleetHost(index: number): string {
  return `10.${(index >> 16) & 255}.${(index >> 8) & 255}.${index & 255}`;
}
