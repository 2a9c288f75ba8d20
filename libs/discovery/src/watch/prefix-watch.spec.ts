import { waitFor } from '@repo/testing';
import type { PrefixList, ReadConsistency, WatchHandle } from '../etcd/etcd-gateway.js';
import { InMemoryEtcd } from '../testing/in-memory-etcd.js';
import { PrefixWatch, type PrefixWatchListener } from './prefix-watch.js';
import { WATCH_BEFORE_LIST_MS } from './watch-from-now.js';

const settings = {
  resyncIntervalMs: 300_000,
  backoff: { initialDelayMs: 10, maxDelayMs: 20 },
  etcdHosts: ['in-memory'],
};
const watches: PrefixWatch[] = [];

afterEach(async () => {
  await Promise.all(watches.splice(0).map((watch) => watch.stop()));
});

/** What the listener heard: a whole list, or a response's changes (null: deleted), with the revision. */
type Heard =
  { listed: Record<string, string>; revision: number } | { changed: Record<string, string | null>; revision: number };

/** A PrefixWatch on /p/ that records everything its listener hears. */
function watchPrefix(
  etcd: InMemoryEtcd,
  listen: Partial<PrefixWatchListener> = {},
  backoff = settings.backoff,
  resyncIntervalMs = settings.resyncIntervalMs,
) {
  const updates: Heard[] = [];
  const failures: number[] = [];
  const watch = new PrefixWatch(
    etcd,
    '/p/',
    { ...settings, backoff, resyncIntervalMs },
    {
      listed: (entries, revision) => {
        updates.push({ listed: Object.fromEntries(entries), revision });
        listen.listed?.(entries, revision);
      },
      changed: (changes, revision) => {
        updates.push({
          changed: Object.fromEntries([...changes].map(([key, value]) => [key, value ?? null])),
          revision,
        });
        listen.changed?.(changes, revision);
      },
      listFailed: (_error, nextAttemptMs) => failures.push(nextAttemptMs),
    },
  );
  watches.push(watch);
  const last = () => updates.at(-1);
  return { watch, updates, failures, last };
}

const put = (key: string, value: string) => ({ put: key, value });

describe('PrefixWatch (list, then watch from the list)', () => {
  it('lists, then passes on each later response once: the keys it changed, with their new values', async () => {
    const etcd = new InMemoryEtcd();
    etcd.transaction([put('/p/a', '1'), put('/other/x', 'not ours')]);
    const { updates, last } = watchPrefix(etcd);
    await waitFor('the list', () => updates.length === 1);
    expect(updates[0]).toEqual({ listed: { '/p/a': '1' }, revision: 1 });

    etcd.transaction([put('/p/b', '2'), put('/p/c', '3'), put('/p/b', '2b')]);
    etcd.transaction([{ delete: '/p/a' }]);
    await waitFor('both changes', () => updates.length === 3);
    expect(updates[1]).toEqual({ changed: { '/p/b': '2b', '/p/c': '3' }, revision: 2 });
    expect(last()).toEqual({ changed: { '/p/a': null }, revision: 3 });
  });

  it("watches from now on: created at the list's revision, one list and no other", async () => {
    const etcd = new InMemoryEtcd();
    etcd.transaction([put('/p/a', '1')]);
    const lists = vi.spyOn(etcd, 'list');
    const watchesAsked = vi.spyOn(etcd, 'watchPrefix');
    const { updates } = watchPrefix(etcd);
    await waitFor('the list', () => updates.length === 1);
    etcd.transaction([put('/p/b', '2')]);
    await waitFor('the change', () => updates.length === 2);
    expect(watchesAsked.mock.calls.map(([prefix, fromRevision]) => `${prefix} from ${fromRevision}`)).toEqual([
      '/p/ from 0',
    ]);
    expect(lists).toHaveBeenCalledTimes(1);
  });

  it('a watch created after the list (late, the list did not wait): lists again, then what came since', async () => {
    const etcd = new InMemoryEtcd();
    etcd.transaction([put('/p/a', '1')]);
    const watchPrefixOf = etcd.watchPrefix.bind(etcd);
    vi.spyOn(etcd, 'watchPrefix').mockImplementationOnce((prefix, fromRevision, handlers) => {
      let handle: WatchHandle | undefined;
      // etcd creates it after WATCH_BEFORE_LIST_MS, when the list has been read: it misses what came before.
      const late = setTimeout(() => {
        etcd.transaction([put('/p/b', 'between')]);
        handle = watchPrefixOf(prefix, fromRevision, handlers);
      }, WATCH_BEFORE_LIST_MS + 100);
      return { cancel: async () => (clearTimeout(late), await handle?.cancel()) };
    });
    const list = etcd.list.bind(etcd);
    vi.spyOn(etcd, 'list')
      .mockImplementationOnce(list)
      .mockImplementationOnce(async (prefix) => {
        const listed = await list(prefix);
        etcd.transaction([put('/p/c', 'during the list again')]); // held, and applied after it
        return listed;
      });
    const { updates } = watchPrefix(etcd);
    await waitFor('the change after the list again', () => updates.length === 3, { timeoutMs: 3000 });
    expect(updates).toEqual([
      { listed: { '/p/a': '1' }, revision: 1 },
      { listed: { '/p/a': '1', '/p/b': 'between' }, revision: 2 },
      { changed: { '/p/c': 'during the list again' }, revision: 3 },
    ]);
    etcd.transaction([put('/p/d', 'after')]);
    await waitFor('the next change', () => updates.length === 4);
    expect(updates[3]).toEqual({ changed: { '/p/d': 'after' }, revision: 4 });
  });

  it('drops replayed events (a resumed stream resends what it applied): no update, nothing applied twice', async () => {
    const etcd = new InMemoryEtcd();
    const { updates } = watchPrefix(etcd);
    await waitFor('the list', () => updates.length === 1);
    etcd.transaction([put('/p/a', '1')]);
    etcd.transaction([{ delete: '/p/a' }]);
    await waitFor('both changes', () => updates.length === 3);
    etcd.replay(1); // put a, delete a, again
    etcd.transaction([put('/p/z', 'after')]);
    await waitFor('the change after the replay', () => updates.length === 4);
    expect(updates[3]).toEqual({ changed: { '/p/z': 'after' }, revision: 3 });
  });

  it('resumes after a reconnect where it left off: what changed meanwhile arrives as changes, no re-list', async () => {
    const etcd = new InMemoryEtcd();
    const list = vi.spyOn(etcd, 'list');
    const { updates, last } = watchPrefix(etcd);
    await waitFor('the list', () => updates.length === 1);
    etcd.goDown();
    etcd.transaction([put('/p/while-down', 'x')]);
    etcd.comeBack();
    await waitFor('the change made while down', () => updates.length === 2);
    expect(last()).toEqual({ changed: { '/p/while-down': 'x' }, revision: 1 });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(list).toHaveBeenCalledTimes(1);
  });

  it("lists again when etcd says it lost its data (its revision is below the watch's)", async () => {
    const etcd = new InMemoryEtcd();
    etcd.transaction([put('/p/a', '1')]);
    etcd.transaction([put('/p/b', '2')]);
    const { updates, last } = watchPrefix(etcd);
    await waitFor('the list', () => updates.length === 1);
    etcd.goDown();
    etcd.wipe();
    etcd.transaction([put('/p/new', 'n')]);
    etcd.comeBack();
    await waitFor('the re-list', () => updates.length === 2);
    expect(last()).toEqual({ listed: { '/p/new': 'n' }, revision: 1 });
  });

  it('lists again and watches anew when etcd cancels the watch (compaction)', async () => {
    const etcd = new InMemoryEtcd();
    const { updates, last } = watchPrefix(etcd);
    await waitFor('the list', () => updates.length === 1);
    etcd.breakWatches();
    etcd.transaction([put('/p/a', '1')]);
    await waitFor('the re-list', () => updates.length === 2);
    expect(last()).toEqual({ listed: { '/p/a': '1' }, revision: 1 });
    etcd.transaction([put('/p/b', '2')]);
    await waitFor('a change on the new watch', () => updates.length === 3);
    expect(last()).toEqual({ changed: { '/p/b': '2' }, revision: 2 });
  });

  it('a resync asked for while a list runs lists exactly once more, after it', async () => {
    const etcd = new InMemoryEtcd();
    const list = vi.spyOn(etcd, 'list');
    const { watch, updates } = watchPrefix(etcd);
    watch.resync();
    watch.resync();
    etcd.transaction([put('/p/a', '1')]);
    await waitFor('two lists', () => updates.length >= 2 && list.mock.calls.length === 2);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(list).toHaveBeenCalledTimes(2);
  });

  it('retries a failed list with backoff, reporting each failure, until etcd answers', async () => {
    const etcd = new InMemoryEtcd();
    etcd.goDown();
    const { updates, failures } = watchPrefix(etcd);
    await waitFor('three failures', () => failures.length >= 3);
    expect(updates).toEqual([]);
    expect(failures.every((delay) => delay >= 0 && delay <= 20)).toBe(true);
    etcd.comeBack();
    await waitFor('the list', () => updates.length === 1);
  });

  it('lists at once when etcd is reachable again, not at the end of its backoff', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(1); // every backoff takes its full ceiling
    const etcd = new InMemoryEtcd();
    etcd.goDown();
    const { updates, failures } = watchPrefix(etcd, {}, { initialDelayMs: 60_000, maxDelayMs: 60_000 });
    await waitFor('a failure', () => failures.length === 1);
    expect(failures).toEqual([60_000]);
    etcd.comeBack();
    await waitFor("the list, within the test's 5 s timeout", () => updates.length === 1);
    vi.restoreAllMocks();
  });

  it('a listener that throws does not end the watch', async () => {
    const etcd = new InMemoryEtcd();
    let calls = 0;
    const bug = () => {
      calls += 1;
      throw new Error('listener bug');
    };
    const { updates } = watchPrefix(etcd, { listed: bug, changed: bug });
    await waitFor('the list', () => calls === 1);
    etcd.transaction([put('/p/a', '1')]);
    etcd.transaction([put('/p/b', '2')]);
    await waitFor('both changes', () => calls === 3);
    expect(updates.at(-1)).toEqual({ changed: { '/p/b': '2' }, revision: 2 });
  });

  it('stop cancels the watch: nothing arrives after it', async () => {
    const etcd = new InMemoryEtcd();
    const { watch, updates } = watchPrefix(etcd);
    await waitFor('the list', () => updates.length === 1);
    await watch.stop();
    expect(etcd.log).toEqual(['cancel watch /p/']);
    etcd.transaction([put('/p/a', '1')]);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(updates).toHaveLength(1);
  });

  describe('the periodic check (the safety net)', () => {
    const lists = (updates: Heard[]) => updates.filter((heard) => 'listed' in heard);
    const counts = (etcd: InMemoryEtcd) => etcd.log.filter((line) => line === 'count /p/').length;

    it('counts the prefix in etcd and lists nothing while the count is what the watch holds', async () => {
      const etcd = new InMemoryEtcd();
      etcd.transaction([put('/p/a', '1'), put('/p/b', '2')]);
      const { updates } = watchPrefix(etcd, {}, settings.backoff, 40);
      await waitFor('the list', () => updates.length === 1);
      etcd.transaction([put('/p/c', '3')]);
      etcd.transaction([put('/p/a', '1b'), { delete: '/p/b' }]);
      await waitFor('8 checks', () => counts(etcd) >= 8, { timeoutMs: 5000 });
      expect(lists(updates)).toHaveLength(1);
    });

    it('lists again when etcd counts keys the watch never heard of, and repairs them', async () => {
      const etcd = new InMemoryEtcd();
      etcd.transaction([put('/p/a', '1')]);
      const { updates, last } = watchPrefix(etcd, {}, settings.backoff, 40);
      await waitFor('the list', () => updates.length === 1);
      etcd.lostTransaction([put('/p/lost', 'x')]);
      await waitFor('a list with the lost key', () => lists(updates).length === 2, { timeoutMs: 8000 });
      expect(last()).toEqual({ listed: { '/p/a': '1', '/p/lost': 'x' }, revision: 2 });
    });

    it("repairs what a count cannot see (a key's lost update) by its deep check, a list every 12th time", async () => {
      const etcd = new InMemoryEtcd();
      etcd.transaction([put('/p/a', '1')]);
      const { updates, last } = watchPrefix(etcd, {}, settings.backoff, 20);
      await waitFor('the list', () => updates.length === 1);
      etcd.lostTransaction([put('/p/a', 'changed')]);
      await waitFor('the deep check', () => lists(updates).length === 2, { timeoutMs: 8000 });
      expect(last()).toEqual({ listed: { '/p/a': 'changed' }, revision: 2 });
    });
  });

  it('reads a list older than what it applied (a member behind) again from the leader: nothing is undone', async () => {
    // A member that answers serializable reads from where it was at revision 1.
    class LaggingEtcd extends InMemoryEtcd {
      stale: PrefixList | undefined;
      override async list(prefix: string, consistency?: ReadConsistency): Promise<PrefixList> {
        return consistency !== 'linearizable' && this.stale ? this.stale : super.list(prefix);
      }
    }
    const etcd = new LaggingEtcd();
    etcd.transaction([put('/p/a', '1')]);
    const { watch, updates, last } = watchPrefix(etcd);
    await waitFor('the list', () => updates.length === 1);
    etcd.stale = await etcd.list('/p/');
    etcd.transaction([put('/p/b', '2')]);
    await waitFor('the change', () => updates.length === 2);
    watch.resync();
    await waitFor('the re-list', () => updates.length === 3);
    expect(last()).toEqual({ listed: { '/p/a': '1', '/p/b': '2' }, revision: 2 });
  });
});
