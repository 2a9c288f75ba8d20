/**
 * The sum of one metric from a Prometheus text endpoint (all label sets, or those whose labels
 * contain `labelFilter`), e.g. etcd's `grpc_server_handled_total` with `grpc_method="Range"`.
 */
export async function metricSum(url: string, name: string, labelFilter = ''): Promise<number> {
  const text = await (await fetch(url)).text();
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (labelFilter && !line.includes(labelFilter)) continue;
    sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}
