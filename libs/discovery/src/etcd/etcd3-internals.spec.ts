import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Namespace } from 'etcd3';
import { EtcdClient } from './etcd-client.js';
import type { EtcdConnections } from './etcd-connections.js';

/**
 * What the library takes from etcd3 beyond its documented API: `EtcdClient` subclasses etcd3's
 * `Namespace` (a protected constructor) and hands it `EtcdConnections` in place of etcd3's
 * `ConnectionPool`, on the promise that Namespace's request builders and RPC clients use the pool only
 * through `exec(service, method, request, options)` (etcd3's `ICallable`). That holds for the etcd3
 * version package.json pins; a new one must pass this before it is taken.
 */
const here = dirname(fileURLToPath(import.meta.url));
const pinned = (
  JSON.parse(readFileSync(join(here, '../../package.json'), 'utf8')) as {
    dependencies: Record<string, string>;
  }
).dependencies.etcd3;
const installed = (
  createRequire(import.meta.url)('etcd3/package.json') as {
    version: string;
  }
).version;

const answers: Record<string, unknown> = {
  range: { header: { revision: '5' }, kvs: [], count: '0', more: false },
  put: { header: { revision: '6' } },
  deleteRange: { header: { revision: '7' }, deleted: '1' },
  txn: { header: { revision: '8' }, succeeded: true, responses: [] },
  leaseGrant: { header: { revision: '8' }, ID: '42', TTL: '10' },
  leaseRevoke: { header: { revision: '8' } },
};

/** An `ICallable` that records each request and answers as etcd would. */
class RecordingCallable {
  readonly calls: { service: string; method: string; request: unknown; options: unknown }[] = [];
  readonly callOptionsFactory = undefined;

  exec(service: string, method: string, request: unknown, options?: unknown): Promise<unknown> {
    this.calls.push({ service, method, request, options });
    return Promise.resolve(answers[method]);
  }

  withConnection(): never {
    throw new Error('etcd3 asked for a connection: it no longer goes through exec() alone');
  }

  markFailed(): void {}
}

function client(): { etcd: EtcdClient; callable: RecordingCallable } {
  const callable = new RecordingCallable();
  return { etcd: new EtcdClient(callable as unknown as EtcdConnections, { hosts: ['in-memory:0'] }), callable };
}

const deadline = { deadline: new Date(Date.now() + 60_000) };

describe('the etcd3 internals the library relies on', () => {
  it('are those of the pinned version, pinned exactly', () => {
    expect(pinned).toMatch(/^\d+\.\d+\.\d+$/);
    expect(installed).toBe(pinned);
  });

  it('Namespace is constructed from (prefix, pool, options), and EtcdClient is one, with an empty prefix', () => {
    expect(Namespace.length).toBe(3);
    const { etcd } = client();
    expect(etcd).toBeInstanceOf(Namespace);
    expect(etcd.prefix).toEqual(Buffer.alloc(0));
  });

  it("sends each request the gateway makes through the pool's exec(), as it was given", async () => {
    const { etcd, callable } = client();
    await etcd.kv.range({ key: Buffer.from('/services/a/'), range_end: Buffer.from('/services/a0') }, deadline);
    await etcd.kv.txn({ success: [] }, deadline);
    await etcd.leaseClient.leaseGrant({ TTL: 10 }, deadline);
    await etcd.leaseClient.leaseRevoke({ ID: '42' }, deadline);
    await etcd.put('/services/a/1').value('v').lease('42').options(deadline).exec();
    await etcd.delete().key('/services/a/1').options(deadline).exec();
    await etcd
      .if('/services/a/.write-check', 'Version', '<', 0)
      .then(etcd.put('/x').value(''))
      .options(deadline)
      .commit();

    expect(callable.calls.map(({ service, method }) => `${service}.${method}`)).toEqual([
      'KV.range',
      'KV.txn',
      'Lease.leaseGrant',
      'Lease.leaseRevoke',
      'KV.put',
      'KV.deleteRange',
      'KV.txn',
    ]);
    // Keys as they are (no prefix added), the lease and the deadline passed on.
    expect(callable.calls[4]).toMatchObject({
      request: { key: Buffer.from('/services/a/1'), value: Buffer.from('v'), lease: '42' },
      options: deadline,
    });
    expect(callable.calls[0].options).toBe(deadline);
  });
});
