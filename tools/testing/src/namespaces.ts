/**
 * A new namespace each call — `/<prefix>-1`, `/<prefix>-2` … — so that the tests of a file share one
 * etcd without seeing each other's keys.
 */
export function namespaces(prefix: string): () => string {
  let count = 0;
  return () => `/${prefix}-${(count += 1)}`;
}
