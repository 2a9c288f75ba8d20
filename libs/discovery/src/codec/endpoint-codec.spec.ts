import type { ServiceEndpoint } from '../service-endpoint.interface.js';
import { decodeEndpoint, encodeEndpoint } from './endpoint-codec.js';
import { endpointKey, parseEndpointKey, servicePrefix } from './endpoint-key.js';
import { formatAddress, parseAddress } from './host-port.js';

const endpoint: ServiceEndpoint = {
  service: 'log-service',
  id: '10.0.0.5:3001',
  host: '10.0.0.5',
  port: 3001,
  address: '10.0.0.5:3001',
  metadata: { region: 'eu', tier: 'gold' },
  weight: 3,
  version: '1.4.0',
  zone: 'eu-1a',
};
const key = '/services/log-service/10.0.0.5:3001';

describe('endpoint keys', () => {
  it('builds <namespace>/<service>/<id>, with a trailing slash on the service prefix', () => {
    expect(endpointKey('/services', 'log-service', '10.0.0.5:3001')).toBe(key);
    expect(servicePrefix('/services', 'log')).toBe('/services/log/');
  });

  it('splits keys under the namespace, and refuses the rest', () => {
    expect(parseEndpointKey('/services', key)).toEqual({ service: 'log-service', id: '10.0.0.5:3001' });
    expect(parseEndpointKey('/services', '/services/go/nested/1.2.3.4:80')).toEqual({
      service: 'go',
      id: 'nested/1.2.3.4:80',
    });
    expect(parseEndpointKey('/services', '/other/log/x')).toBeUndefined();
    expect(parseEndpointKey('/services', '/services/log')).toBeUndefined();
    expect(parseEndpointKey('/services', '/services/log/')).toBeUndefined();
  });
});

describe('addresses', () => {
  it.each([
    ['10.0.0.5:3001', { host: '10.0.0.5', port: 3001 }],
    ['grpc://svc.local:50051/', { host: 'svc.local', port: 50051 }],
    ['http://user@10.0.0.1:80/path?q=1', { host: '10.0.0.1', port: 80 }],
    ['[::1]:8080', { host: '::1', port: 8080 }],
    ['svc_1.example-x:08080', { host: 'svc_1.example-x', port: 8080 }],
    [' 10.0.0.5:3001 ', { host: '10.0.0.5', port: 3001 }],
    ['10.0.0.5:65535', { host: '10.0.0.5', port: 65535 }],
  ])('reads %s', (text, expected) => {
    expect(parseAddress(text)).toEqual(expected);
  });

  it.each([
    '10.0.0.5',
    '10.0.0.5:0',
    '10.0.0.5:70000',
    '10.0.0.5:123456',
    '10.0.0.5:8a',
    '10.0.0.5:',
    ':80',
    'a b:80',
    'a/b:80',
    '::1:80',
    '',
  ])('refuses %j', (text) => {
    expect(parseAddress(text)).toBeUndefined();
  });

  it('brackets IPv6 hosts', () => {
    expect(formatAddress('::1', 80)).toBe('[::1]:80');
    expect(formatAddress('h', 80)).toBe('h:80');
  });
});

describe('encodeEndpoint', () => {
  it('writes the etcd gRPC naming layout: Addr, and Metadata with the rest', () => {
    expect(JSON.parse(encodeEndpoint(endpoint))).toEqual({
      Addr: '10.0.0.5:3001',
      Metadata: {
        service: 'log-service',
        id: '10.0.0.5:3001',
        weight: 3,
        version: '1.4.0',
        zone: 'eu-1a',
        metadata: { region: 'eu', tier: 'gold' },
      },
    });
  });

  it('round-trips through decodeEndpoint', () => {
    expect(decodeEndpoint('/services', key, encodeEndpoint(endpoint))).toEqual({ ok: true, endpoint });
  });

  it('stores patterns, events and the lease stamp in Metadata, and reads them back', () => {
    const handling = {
      ...endpoint,
      patterns: ['log.append', '{"cmd":"sum"}'],
      events: ['grade.recorded'],
      registeredAt: 1_700_000_000_000,
    };
    const stored = JSON.parse(encodeEndpoint(handling)) as { Addr: string; Metadata: Record<string, unknown> };
    expect(stored.Addr).toBe('10.0.0.5:3001'); // what Go readers use, unchanged
    expect(stored.Metadata).toMatchObject({
      patterns: ['log.append', '{"cmd":"sum"}'],
      events: ['grade.recorded'],
      registeredAt: 1_700_000_000_000,
    });
    expect(decodeEndpoint('/services', key, encodeEndpoint(handling))).toEqual({ ok: true, endpoint: handling });
  });

  it('leaves empty pattern lists out of the value', () => {
    expect(JSON.parse(encodeEndpoint({ ...endpoint, patterns: [], events: [] })).Metadata).not.toHaveProperty(
      'patterns',
    );
  });

  it('reads patterns tolerantly: a non-list is ignored, non-string entries skipped, the rest sorted once each', () => {
    const value = (patterns: unknown) =>
      JSON.stringify({ Addr: '1.2.3.4:1', Metadata: { patterns, events: 'x', registeredAt: 'yesterday' } });
    const read = (patterns: unknown) => {
      const decoded = decodeEndpoint('/services', '/services/s/a', value(patterns));
      return decoded.ok
        ? [decoded.endpoint.patterns, decoded.endpoint.events, decoded.endpoint.registeredAt]
        : decoded.reason;
    };
    expect(read(['b', 3, 'a', '', 'b', null])).toEqual([['a', 'b'], undefined, undefined]);
    expect(read({ a: 1 })).toEqual([undefined, undefined, undefined]);
  });
});

describe('decodeEndpoint reads what Go services write', () => {
  const plain = (host: string, port: number, id: string) => ({
    ok: true,
    endpoint: { service: 'go', id, host, port, address: `${host}:${port}`, metadata: {}, weight: 1 },
  });

  it('etcd naming JSON with no Metadata (Go endpoints.Manager)', () => {
    expect(decodeEndpoint('/services', '/services/go/a', '{"Addr":"1.2.3.4:50051","Metadata":null}')).toEqual(
      plain('1.2.3.4', 50051, 'a'),
    );
  });

  it('the older naming form with Op, and a flat string Metadata map', () => {
    const value = '{"Op":0,"Addr":"1.2.3.4:50051","Metadata":{"version":"2","color":"blue","weight":2,"n":5}}';
    expect(decodeEndpoint('/services', '/services/go/a', value)).toEqual({
      ok: true,
      endpoint: { ...plain('1.2.3.4', 50051, 'a').endpoint, version: '2', weight: 2, metadata: { color: 'blue' } },
    });
  });

  it('go-kratos instances: id, version, metadata and endpoint URLs', () => {
    const value = JSON.stringify({
      id: 'k1',
      name: 'go',
      version: 'v1',
      metadata: { a: 'b' },
      endpoints: ['grpc://1.2.3.4:9000', 'http://1.2.3.4:8000'],
    });
    expect(decodeEndpoint('/services', '/services/go/k1', value)).toEqual({
      ok: true,
      endpoint: { ...plain('1.2.3.4', 9000, 'k1').endpoint, version: 'v1', metadata: { a: 'b' } },
    });
  });

  it('{host, port} objects, plain host:port, URLs, and an empty value under a host:port key', () => {
    expect(decodeEndpoint('/services', '/services/go/x', '{"host":"1.2.3.4","port":"81"}')).toEqual(
      plain('1.2.3.4', 81, 'x'),
    );
    expect(decodeEndpoint('/services', '/services/go/x', '1.2.3.4:82')).toEqual(plain('1.2.3.4', 82, 'x'));
    expect(decodeEndpoint('/services', '/services/go/x', 'http://1.2.3.4:83')).toEqual(plain('1.2.3.4', 83, 'x'));
    expect(decodeEndpoint('/services', '/services/go/1.2.3.4:84', '')).toEqual(plain('1.2.3.4', 84, '1.2.3.4:84'));
  });

  it.each([
    ['garbage', 'not an address', /neither JSON nor host:port/],
    ['broken JSON', '{"Addr":', /not valid JSON/],
    ['a JSON array', '[1]', /neither JSON/],
    ['JSON without an address', '{"name":"x"}', /no usable address/],
    ['Addr without a port', '{"Addr":"1.2.3.4"}', /no usable address/],
    ['a port out of range', '{"Addr":"1.2.3.4:99999"}', /no usable address/],
    ['a negative weight', '{"Addr":"1.2.3.4:1","Metadata":{"weight":-1}}', /weight -1/],
    ['an empty value under a key that is no address', '', /empty value/],
  ])('refuses %s without throwing', (_case, value, reason) => {
    const result = decodeEndpoint('/services', '/services/go/x', value);
    expect(result.ok).toBe(false);
    expect(result).toMatchObject({ reason: expect.stringMatching(reason) });
  });

  it('refuses keys outside the namespace', () => {
    expect(decodeEndpoint('/services', '/elsewhere/go/x', '1.2.3.4:1')).toMatchObject({ ok: false });
  });

  it.each([
    '/services/go/a//b',
    '/services/go/.',
    '/services/go/a/./b',
    '/services/go/..',
    '/services/go/a/../b',
    '/services/./x',
    '/services/../x',
  ])('refuses %s: an empty, "." or ".." segment', (key) => {
    expect(decodeEndpoint('/services', key, '1.2.3.4:1')).toEqual({
      ok: false,
      reason: 'the key has an empty, "." or ".." segment',
    });
  });

  it('reads ids with dots that are not whole segments', () => {
    expect(decodeEndpoint('/services', '/services/go/a.b/..c/d..', '1.2.3.4:1')).toMatchObject({
      ok: true,
      endpoint: { id: 'a.b/..c/d..' },
    });
  });
});
