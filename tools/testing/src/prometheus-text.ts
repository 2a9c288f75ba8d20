/**
 * The sum of one metric from a Prometheus text endpoint (all label sets, or those whose labels
 * contain `labelFilter`), e.g. etcd's `grpc_server_handled_total` with `grpc_method="Range"`.
 */
export async function metricSum(url: string, name: string, labelFilter = ''): Promise<number> {
  const [sum] = await metricSums(url, name, [labelFilter]);
  return sum;
}

/**
 * One sum per label filter, all from the same scrape: counts that must be compared with each other
 * (requests refused against those answered) are then read at one instant, not one request apart.
 */
export async function metricSums(url: string, name: string, labelFilters: string[]): Promise<number[]> {
  const text = await (await fetch(url)).text();
  const sums = labelFilters.map(() => 0);
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const value = Number(line.slice(line.lastIndexOf(' ') + 1));
    labelFilters.forEach((filter, index) => {
      if (!filter || line.includes(filter)) sums[index] += value;
    });
  }
  return sums;
}
