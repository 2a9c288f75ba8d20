import type { EtcdGateway } from '../etcd/etcd-gateway.js';
import { LeasedValue } from './leased-value.js';

/** A gateway whose puts wait until the test lets them through, and which records what was asked of it. */
function fakeGateway() {
  const puts: { value: string; leaseId: string; done: () => void }[] = [];
  const revoked: string[] = [];
  let grants = 0;
  const gateway = {
    grantLease: async () => `own-${++grants}`,
    keepAlive: async () => 10,
    revokeLease: async (leaseId: string) => void revoked.push(leaseId),
    put: (_key: string, value: string, leaseId: string) =>
      new Promise<number>((resolve) => puts.push({ value, leaseId, done: () => resolve(1) })),
    onConnected: () => () => undefined,
  } as unknown as EtcdGateway;
  return { gateway, puts, revoked };
}

const settings = { ttl: 10, connectTimeoutMs: 1000, backoff: { initialDelayMs: 10, maxDelayMs: 100 } };
const turn = () => new Promise((resolve) => setImmediate(resolve));

describe('LeasedValue', () => {
  it('a lease change during a write in flight: written again under the new lease, its own lease revoked', async () => {
    const { gateway, puts, revoked } = fakeGateway();
    const shared: { leaseId: string | undefined } = { leaseId: undefined };
    const value = new LeasedValue(gateway, '/k', settings, shared, () => undefined);
    value.set('report');
    await turn();
    expect(puts.map(({ leaseId }) => leaseId)).toEqual(['own-1']);

    shared.leaseId = 'registrations'; // the app registered while the put was in flight
    value.leaseChanged();
    puts[0].done();
    await turn();
    await turn();
    expect(puts.map(({ leaseId }) => leaseId)).toEqual(['own-1', 'registrations']);
    puts[1].done();
    await turn();
    await turn();
    expect(revoked).toEqual(['own-1']); // the key is under the registrations' lease now: ours goes
    await value.close();
    expect(revoked).toEqual(['own-1']); // nothing of its own left to revoke
  });

  it('values set while a write is in flight: the last one is written next, none lost', async () => {
    const { gateway, puts } = fakeGateway();
    const value = new LeasedValue(gateway, '/k', settings, { leaseId: 'registrations' }, () => undefined);
    value.set('one');
    await turn();
    value.set('two');
    value.set('three');
    puts[0].done();
    await turn();
    await turn();
    expect(puts.map((put) => put.value)).toEqual(['one', 'three']);
    puts[1].done();
    await value.close();
  });
});
