/**
 * Garbage collection over a real data dir's store and database: what the
 * live tree and a snapshot reference stays, the rest goes; and the races
 * with writers are closed (a write under way when it starts, a put during
 * it, a put of an object it is removing).
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Cache } from '../../../src/engine/cache/cache.js';
import { Collector } from '../../../src/engine/cache/gc.js';
import { createDataDir, DataDir } from '../../../src/engine/datadir.js';
import { ContentStore } from '../../../src/engine/store/content.js';
import { encodeNode } from '../../../src/engine/store/manifest.js';
import { DEFAULT_SHARING_KEY, sharingKeySecret } from '../../../src/engine/store/sharing.js';
import { takeSnapshot } from '../../../src/engine/tree/snapshots.js';
import { Tree } from '../../../src/engine/tree/tree.js';
import { createVolume } from '../../../src/engine/tree/volumes.js';
import { tempDir } from '../../helpers.js';

async function setup(t: TestContext) {
  const path = join(tempDir(t), 'd');
  createDataDir(path);
  const dir = DataDir.open(path, { write: true });
  const cache = await Cache.open({ db: dir.db, objects: dir.objects(), log: () => {} });
  t.after(() => {
    cache.close();
    dir.close();
  });
  const v = createVolume(dir.db, 'v', DEFAULT_SHARING_KEY);
  const rowId = dir.db.prepare('SELECT id FROM volumes WHERE name = ?').pluck().get('v') as number;
  const tree = new Tree(dir.db, rowId);
  const store = new ContentStore(dir.objects(), sharingKeySecret(dir.db, v.sharingKey));
  const volume = { name: 'v', rowId, tree, store };
  const collector = new Collector({ db: dir.db, cache, objects: dir.objects(), volumes: () => [volume], openManifests: () => [], log: () => {} });
  /** Writes a file of random bytes at the root; returns its object ids. */
  const write = async (name: string, bytes = 300_000): Promise<Buffer[]> => {
    const { manifest } = await store.writeFile([randomBytes(bytes)]);
    const node = tree.create(tree.root, name, 'file', 0o644);
    tree.setContent(node.ino, { size: bytes, manifest: encodeNode(manifest) }, Date.now());
    return manifest.entries.map((e) => store.objectId(e.h));
  };
  const here = (id: Buffer) => existsSync(dir.objects().pathOf(id));
  /** Makes every object a minute old (gc spares what was written in the last moments). */
  const age = () => {
    const then = new Date(Date.now() - 60_000);
    for (const [hex] of cache.objects()) utimesSync(dir.objects().pathOf(Buffer.from(hex, 'hex')), then, then);
  };
  return { dir, cache, tree, store, collector, write, here, age };
}

test('gc removes what neither the live tree nor a snapshot references, and nothing else', async (t) => {
  const { dir, tree, store, collector, write, here, age } = await setup(t);
  const live = await write('live');
  const snapped = await write('old');
  await takeSnapshot(tree, store, dir.db, 's1');
  const gone = await write('gone');
  tree.remove(tree.root, 'old', false);
  tree.remove(tree.root, 'gone', false);
  age();
  const r = await collector.collect();
  assert.deepEqual([...live, ...snapped].map(here), [...live, ...snapped].map(() => true));
  assert.deepEqual(gone.map(here), gone.map(() => false));
  assert.equal(r.removed, gone.length);
  assert.equal(r.objects - r.removed, r.referenced);
  assert.equal((await collector.collect()).removed, 0, 'a second collection finds nothing more');
});

test('a write under way when gc starts, and puts during it, keep their objects', async (t) => {
  const { store, dir, collector, here, age } = await setup(t);
  // A write that has put a chunk and not yet committed it (held, as writeFile holds).
  const release = store.hold();
  const { h } = await store.putChunk(randomBytes(1000));
  const r1 = await collector.collect();
  assert.ok(here(store.objectId(h)), 'the held write keeps its chunk');
  assert.equal(r1.removed, 0);
  release();
  age();
  // Unreferenced and no longer held: it goes.
  assert.equal((await collector.collect()).removed, 1);
  assert.ok(!here(store.objectId(h)));

  // An old object put again while a collection runs is kept (the put counts on it).
  const old = await store.putChunk(randomBytes(2000));
  const id = store.objectId(old.h);
  const end = dir.objects().beginCollection();
  await store.putChunk(await store.getChunk(old.h));
  assert.equal(await dir.objects().collect(id), false, 'spared: put during the collection');
  end();
});

test('a put of an object being removed waits for the removal, then writes it anew', async (t) => {
  const { store, dir, here } = await setup(t);
  const plain = randomBytes(5000);
  const { h } = await store.putChunk(plain);
  const id = store.objectId(h);
  const objects = dir.objects();
  const end = objects.beginCollection();
  const removing = objects.collect(id);
  const put = store.putChunk(plain);
  assert.equal(await removing, true);
  assert.equal((await put).stored, true, 'written anew after the removal');
  end();
  assert.ok(here(id));
  assert.deepEqual(await store.getChunk(h), plain);
});
