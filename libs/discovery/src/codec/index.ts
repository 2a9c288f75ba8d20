/**
 * nestjs-etcd-discovery/codec: what is stored in etcd — the key of an instance and its value, read and
 * written as Go's etcd naming does — for tools and tests that write or read the namespace themselves.
 */
export { decodeEndpoint, encodeEndpoint, type DecodeResult, type StoredEndpointValue } from './endpoint-codec.js';
export { endpointKey, servicePrefix } from './endpoint-key.js';
