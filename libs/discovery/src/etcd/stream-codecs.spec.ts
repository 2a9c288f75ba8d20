import { etcdServices } from './etcd-services.js';
import { decodeKeepAliveResponse, decodeWatchResponse, encodeKeepAliveRequest } from './stream-codecs.js';

// The hand-written decoders against the proto loader's own encoding of the same messages (etcd's
// rpc.proto, as etcd3 ships it): every field the library reads, values past 2^53 and negative, and
// fields it does not read skipped.
const { Watch, Lease } = etcdServices();
const encodeWatchResponse = (message: object) => Watch.service.Watch.responseSerialize(message);
const encodeKeepAliveResponse = (message: object) => Lease.service.LeaseKeepAlive.responseSerialize(message);
const decodeKeepAliveRequest = (bytes: Buffer) =>
  Lease.service.LeaseKeepAlive.requestDeserialize(bytes) as { ID: string };

describe('stream codecs', () => {
  it('decode a watch response: header, ids, flags, events with keys and values as they were sent', () => {
    const bytes = encodeWatchResponse({
      header: {
        cluster_id: '14841639068965178418',
        member_id: '10276657743932975437',
        revision: '9007199254740',
        raft_term: '7',
      },
      watch_id: '3',
      fragment: true,
      events: [
        {
          type: 'Put',
          kv: {
            key: Buffer.from('/services/a/1'),
            value: Buffer.from('{"Addr":"h:1"}'),
            create_revision: '5',
            mod_revision: '9',
            version: '1',
            lease: '7284750802102583308',
          },
        },
        {
          type: 'Delete',
          kv: { key: Buffer.from('/services/a/2'), mod_revision: '10' },
          prev_kv: { key: Buffer.from('/services/a/2'), value: Buffer.from('old') },
        },
      ],
    });
    const response = decodeWatchResponse(bytes);
    expect(response).toMatchObject({
      header: { revision: 9007199254740, raft_term: 7 },
      watch_id: 3,
      created: false,
      canceled: false,
      compact_revision: 0,
      cancel_reason: '',
    });
    expect(
      response.events.map(({ type, kv }) => ({
        type,
        key: kv.key.toString(),
        value: kv.value.toString(),
        mod_revision: kv.mod_revision,
        version: kv.version,
      })),
    ).toEqual([
      { type: 'Put', key: '/services/a/1', value: '{"Addr":"h:1"}', mod_revision: 9, version: 1 },
      { type: 'Delete', key: '/services/a/2', value: '', mod_revision: 10, version: 0 },
    ]);
  });

  it('decode a cancellation (compacted, or refused with a reason) and a creation', () => {
    expect(
      decodeWatchResponse(
        encodeWatchResponse({ header: { revision: '20' }, watch_id: '0', canceled: true, compact_revision: '15' }),
      ),
    ).toMatchObject({
      canceled: true,
      compact_revision: 15,
      watch_id: 0,
    });
    expect(
      decodeWatchResponse(
        encodeWatchResponse({
          watch_id: '4',
          created: true,
          canceled: true,
          cancel_reason: 'etcdserver: permission denied',
        }),
      ),
    ).toMatchObject({
      created: true,
      canceled: true,
      cancel_reason: 'etcdserver: permission denied',
      events: [],
    });
  });

  it('keepalives: a lease id past 2^53 both ways, and a TTL of -1 (grpc-proxy, for a lease it no longer knows)', () => {
    const id = '7284750802102583308';
    expect(decodeKeepAliveRequest(encodeKeepAliveRequest({ ID: id })).ID).toBe(id);
    expect(
      decodeKeepAliveResponse(
        encodeKeepAliveResponse({ header: { revision: '3', member_id: '10276657743932975437' }, ID: id, TTL: '10' }),
      ),
    ).toEqual({ ID: id, TTL: 10 });
    expect(decodeKeepAliveResponse(encodeKeepAliveResponse({ ID: id, TTL: '-1' }))).toEqual({ ID: id, TTL: -1 });
  });
});
