import type { Etcd3 } from 'etcd3';
import { type ServiceEndpoint } from 'nestjs-etcd-discovery';
import { encodeEndpoint, endpointKey } from 'nestjs-etcd-discovery/codec';

/** Puts `endpoint` where and as the registry would, under `namespace`. */
export async function putEndpoint(client: Etcd3, endpoint: ServiceEndpoint, namespace = '/services'): Promise<void> {
  await client.put(endpointKey(namespace, endpoint.service, endpoint.id)).value(encodeEndpoint(endpoint));
}

/** The same put as one operation of a transaction (`client.kv.txn({ success: [...] })`). */
export function putOperation(endpoint: ServiceEndpoint, namespace = '/services') {
  const key = endpointKey(namespace, endpoint.service, endpoint.id);
  return { request_put: { key: Buffer.from(key), value: Buffer.from(encodeEndpoint(endpoint)) } };
}

/** Deletes one instance's key. */
export async function deleteEndpoint(
  client: Etcd3,
  service: string,
  id: string,
  namespace = '/services',
): Promise<void> {
  await client.delete().key(endpointKey(namespace, service, id));
}
