/** The cache over a real data dir's store and database: its never-rules, its order, what it answers peers. */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { parseSize } from '../../../src/engine/cache/budget.js';
import { Cache } from '../../../src/engine/cache/cache.js';
import { createDataDir, DataDir } from '../../../src/engine/datadir.js';
import { isBazilError } from '../../../src/engine/errors.js';
import { tempDir } from '../../helpers.js';

const KiB = 1024;
const PEER = `peer:${'ab'.repeat(32)}`;

async function setup(t: TestContext): Promise<{ dir: DataDir; cache: Cache; put(fetched: boolean): Promise<Buffer> }> {
  const path = join(tempDir(t), 'd');
  createDataDir(path);
  const dir = DataDir.open(path, { write: true });
  const cache = await Cache.open({ db: dir.db, objects: dir.objects(), log: () => {} });
  t.after(() => {
    cache.close();
    dir.close();
  });
  await cache.setBudget({ budget: 1 << 30, minFree: 0 });
  return {
    dir,
    cache,
    put: async (fetched) => {
      const id = randomBytes(32);
      await dir.objects().put(id, async () => [randomBytes(100 * KiB)], { fetched });
      return id;
    },
  };
}

const here = (dir: DataDir, id: Buffer) => existsSync(dir.objects().pathOf(id));

test('eviction takes the least recently used of what another store keeps, and nothing else', async (t) => {
  const { dir, cache, put } = await setup(t);
  const unique = await put(false);
  const cachedThere = await put(true);
  cache.confirmed(cachedThere, PEER, false); // the peer holds it only as a cache: not a reason to evict
  const pinned = await put(true);
  cache.confirmed(pinned, PEER, true);
  cache.setPinned(new Set([pinned.toString('hex')]));
  const [old, mid, recent] = [await put(true), await put(true), await put(true)];
  for (const id of [old, mid, recent]) cache.confirmed(id, PEER, true);
  await dir.objects().get(old); // now mid is the least recently used

  assert.deepEqual([unique, pinned, old, mid, recent].map((id) => cache.holding(id)), ['kept', 'kept', 'cached', 'cached', 'cached']);
  assert.equal(cache.holding(cachedThere), 'kept');
  assert.equal(cache.holding(randomBytes(32)), 'absent');

  const s = await cache.stats();
  await cache.setBudget({ budget: s.used - 50 * KiB }); // one object's worth over
  assert.deepEqual([unique, cachedThere, pinned, old, mid, recent].map((id) => here(dir, id)), [true, true, true, true, false, true]);

  const after = await cache.setBudget({ budget: 0 });
  assert.deepEqual([unique, cachedThere, pinned, old, recent].map((id) => here(dir, id)), [true, true, true, false, false]);
  assert.equal(after.evictable, 0);
  assert.ok(after.pinned > 0 && after.notElsewhere === after.used - after.pinned, JSON.stringify(after));

  // A store that says it lacks an object takes back its confirmation.
  cache.lacks(cachedThere, PEER);
  assert.deepEqual(cache.where.holders(cachedThere), []);
});

test('once this store said it keeps an object, only a newer confirmation lets it go', async (t) => {
  const { dir, cache, put } = await setup(t);
  const id = await put(true);
  cache.confirmed(id, PEER, true); // the peer sent it, saying it keeps it
  cache.setPinned(new Set([id.toString('hex')]));
  assert.equal(cache.holding(id), 'kept'); // pinned: a peer asking may now evict its copy on this word
  cache.setPinned(new Set());
  await cache.setBudget({ budget: 0 });
  assert.ok(here(dir, id), 'the older confirmation may be from the very peer that evicted on our word');
  assert.equal(cache.holding(id), 'kept');
  await new Promise((r) => setTimeout(r, 2));
  cache.confirmed(id, PEER, true); // asked again, the peer says it keeps it
  assert.equal(cache.holding(id), 'cached');
  await cache.setBudget({ budget: 0 });
  assert.ok(!here(dir, id));
});

test('the where-table survives a restart, and the index is rebuilt from the store', async (t) => {
  const { dir, cache, put } = await setup(t);
  const id = await put(true);
  cache.confirmed(id, PEER, true);
  cache.close();
  const again = await Cache.open({ db: dir.db, objects: dir.objects(), log: () => {} });
  t.after(() => again.close());
  const [h] = again.where.holders(id);
  assert.equal(h.store, PEER);
  assert.equal(h.kept, true);
  assert.equal(again.holding(id), 'cached');
  assert.equal((await again.stats()).objects, 1);
});

test('sizes as typed', () => {
  assert.equal(parseSize('256M'), 256 * 2 ** 20);
  assert.equal(parseSize('1.5GiB'), 1.5 * 2 ** 30);
  assert.equal(parseSize('4096'), 4096);
  assert.throws(() => parseSize('lots'), (err) => isBazilError(err, 'INVALID_ARGUMENT'));
});
