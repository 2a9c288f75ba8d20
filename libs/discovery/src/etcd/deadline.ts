/** gRPC call options with a deadline, so that no etcd call can hang on a frozen or partitioned server. */
export function withDeadline(timeoutMs: number): { deadline: number } {
  return { deadline: Date.now() + timeoutMs };
}
