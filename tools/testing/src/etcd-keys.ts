import type { Etcd3 } from 'etcd3';

/** The keys under `prefix` with their values and lease ids, read straight from etcd. */
export async function readKeys(client: Etcd3, prefix: string): Promise<Map<string, { value: string; lease: string }>> {
  const response = await client.getAll().prefix(prefix).exec();
  return new Map(
    response.kvs.map((kv) => [kv.key.toString(), { value: kv.value.toString(), lease: String(kv.lease) }]),
  );
}

/** The ids of all leases etcd holds (decimal strings, as the etcd3 client gives them). */
export async function leaseIds(client: Etcd3): Promise<string[]> {
  const response = await client.leaseClient.leaseLeases();
  return response.leases.map((lease) => String(lease.ID));
}

/** etcdctl takes lease ids in hex. */
export function hexLeaseId(decimal: string): string {
  return BigInt(decimal).toString(16);
}
