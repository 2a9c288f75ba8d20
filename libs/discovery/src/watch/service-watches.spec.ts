import { memoryPut, testEndpoint } from '@repo/testing';
import { resolveDiscoveryOptions } from '../options/resolve-options.js';
import { InMemoryEtcd } from '../testing/in-memory-etcd.js';
import { ServiceWatches } from './service-watches.js';

// When a batch of required services is listed: after its watches are created (a few services), or
// before them (many). Either way nothing written in between is lost.
const running: ServiceWatches[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((watches) => watches.onApplicationShutdown()));
});

const names = (count: number) => Array.from({ length: count }, (_, index) => `svc-${index}`);

/** ServiceWatches on `etcd` holding one endpoint per service, and the order of its lists and watches. */
function serviceWatches(etcd: InMemoryEtcd, services: string[]) {
  etcd.transaction(services.map((service) => memoryPut(testEndpoint(service, 'a', 1000))));
  const steps: string[] = [];
  const list = etcd.list.bind(etcd);
  const listMany = (prefixes: readonly string[]) => Promise.all(prefixes.map((prefix) => list(prefix)));
  const watchPrefix = etcd.watchPrefix.bind(etcd);
  vi.spyOn(etcd, 'listMany').mockImplementation(async (prefixes) => {
    steps.push(`listMany ${prefixes.length}`);
    return listMany(prefixes);
  });
  vi.spyOn(etcd, 'list').mockImplementation(async (prefix) => {
    steps.push('list');
    return list(prefix);
  });
  vi.spyOn(etcd, 'watchPrefix').mockImplementation((...args) => {
    steps.push('watch');
    return watchPrefix(...args);
  });
  const watches = new ServiceWatches(resolveDiscoveryOptions({ etcd: { hosts: ['in-memory:0'] } }, {}), etcd);
  running.push(watches);
  return { watches, steps };
}

/** The steps with runs of the same one counted: ['watch ×3', 'listMany 3']. */
const runs = (steps: string[]) =>
  steps.reduce<string[]>((all, step) => {
    const last = all.at(-1)?.match(/^(.*) ×(\d+)$/);
    if (last && last[1] === step) all[all.length - 1] = `${step} ×${Number(last[2]) + 1}`;
    else all.push(`${step} ×1`);
    return all;
  }, []);

describe('ServiceWatches.watchRequired', () => {
  it('a few services: their watches first, then one batch of lists, and nothing else', async () => {
    const etcd = new InMemoryEtcd();
    const services = names(3);
    const { watches, steps } = serviceWatches(etcd, services);
    await watches.watchRequired(services);
    expect(runs(steps)).toEqual(['watch ×3', 'listMany 3 ×1']);
    expect(services.map((service) => watches.get(service)?.current.length)).toEqual([1, 1, 1]);
  });

  it('many services: one batch of lists first, then their watches; nothing more while etcd stays put', async () => {
    const etcd = new InMemoryEtcd();
    const services = names(200);
    const { watches, steps } = serviceWatches(etcd, services);
    await watches.watchRequired(services);
    expect(runs(steps)).toEqual(['listMany 200 ×1', 'watch ×200']);
    expect(services.every((service) => watches.get(service)?.current.length === 1)).toBe(true);
  });

  it('many services, etcd written between lists and watches: each listed again, the write kept', async () => {
    const etcd = new InMemoryEtcd();
    const services = names(200);
    const { watches, steps } = serviceWatches(etcd, services);
    const listMany = vi.spyOn(etcd, 'listMany');
    const recorded = listMany.getMockImplementation()!;
    listMany.mockImplementationOnce(async (prefixes) => {
      const lists = await recorded(prefixes);
      etcd.transaction([memoryPut(testEndpoint('svc-7', 'b', 1001))]); // after the list, before any watch
      return lists;
    });
    await watches.watchRequired(services);
    await vi.waitFor(() => expect(watches.get('svc-7')?.current.map((endpoint) => endpoint.id)).toEqual(['a', 'b']));
    // Every watch was created above the list's revision: each prefix listed once more, the cost of listing first.
    await vi.waitFor(() => expect(runs(steps)).toEqual(['listMany 200 ×1', 'watch ×200', 'list ×200']));
  });
});
