import type { NetworkInterfaceInfo } from 'node:os';
import { advertisedHost } from './host-address.js';

const iface = (address: string, family: 'IPv4' | 'IPv6', internal: boolean) =>
  ({ address, family, internal }) as NetworkInterfaceInfo;

describe('advertisedHost', () => {
  const interfaces = {
    lo: [iface('127.0.0.1', 'IPv4', true), iface('::1', 'IPv6', true)],
    eth0: [iface('fe80::1', 'IPv6', false), iface('10.1.2.3', 'IPv4', false)],
    eth1: [iface('192.168.0.9', 'IPv4', false)],
  };

  it('keeps an address the server is bound to', () => {
    expect(advertisedHost('127.0.0.1', interfaces)).toBe('127.0.0.1');
    expect(advertisedHost('::ffff:127.0.0.1', interfaces)).toBe('127.0.0.1');
    expect(advertisedHost('::1', interfaces)).toBe('::1');
  });

  it('replaces the wildcard with the first non-internal IPv4 address', () => {
    expect(advertisedHost('0.0.0.0', interfaces)).toBe('10.1.2.3');
    expect(advertisedHost('::', interfaces)).toBe('10.1.2.3');
  });

  it('falls back to loopback on a machine with no external IPv4 address', () => {
    expect(advertisedHost('::', { lo: interfaces.lo })).toBe('127.0.0.1');
  });
});
