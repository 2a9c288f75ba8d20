import { networkInterfaces, type NetworkInterfaceInfo } from 'node:os';

const wildcardAddresses = new Set(['0.0.0.0', '::', '::0', '0:0:0:0:0:0:0:0']);

/**
 * The host to advertise for a server bound to `boundAddress`: the bound address itself, or — when
 * the server listens on all interfaces — the machine's first non-internal IPv4 address (loopback
 * when it has none), since "0.0.0.0" is not an address another machine can dial.
 */
export function advertisedHost(
  boundAddress: string,
  interfaces: NodeJS.Dict<NetworkInterfaceInfo[]> = networkInterfaces(),
): string {
  const address = boundAddress.replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/, '');
  if (!wildcardAddresses.has(address)) return address;
  for (const entries of Object.values(interfaces)) {
    const external = entries?.find((entry) => entry.family === 'IPv4' && !entry.internal);
    if (external) return external.address;
  }
  return '127.0.0.1';
}
