/**
 * What an open file hands out and commits: never bytes its content does not
 * hold (a node whose size says more than its manifest), holes as holes, and
 * the size limit.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { createDataDir, DataDir } from '../../../src/engine/datadir.js';
import { isBazilError } from '../../../src/engine/errors.js';
import { EMPTY_MANIFEST, encodeNode, encodedSizes } from '../../../src/engine/store/manifest.js';
import { MAX_FILE_SIZE, OpenFile, contentSizes } from '../../../src/engine/tree/open-file.js';
import { Tree } from '../../../src/engine/tree/tree.js';
import { createVolume, volumeRowId } from '../../../src/engine/tree/volumes.js';
import { pseudoRandom, tempDir } from '../../helpers.js';

const MiB = 1 << 20;
const TiB = 2 ** 40;

function setup(t: Parameters<typeof tempDir>[0]) {
  const path = join(tempDir(t), 'd');
  createDataDir(path);
  const dir = DataDir.open(path, { write: true });
  t.after(() => dir.close());
  createVolume(dir.db, 'v', 'default');
  const tree = new Tree(dir.db, volumeRowId(dir.db, 'v'));
  const store = dir.volumeContent('v');
  const open = (ino: number) => new OpenFile(ino, tree.get(ino), tree, store, join(dir.path, 'tmp'));
  /** A node written straight into the database, as a bad listing would leave it. */
  const badNode = (name: string, size: number, content: { data: Buffer | null; manifest: Buffer | null }) => {
    const node = tree.create(tree.root, name, 'file', 0o644);
    dir.db.prepare('UPDATE nodes SET size = ?, data = ?, manifest = ? WHERE ino = ?').run(size, content.data, content.manifest, node.ino);
    return node.ino;
  };
  return { dir, tree, store, open, badNode };
}

/** Reads [offset, offset + length) into a buffer that starts out full of 0xAA (stale bytes). */
async function readStale(file: OpenFile, offset: number, length: number): Promise<{ n: number; buf: Buffer }> {
  const buf = Buffer.alloc(length, 0xaa);
  const n = await file.read(buf, length, offset);
  return { n, buf };
}

test('a node whose size says more than its content holds reads as its content, and a write commits no stale bytes', async (t) => {
  const { tree, store, open, badNode } = setup(t);
  const real = pseudoRandom('real', 100_000);
  const { manifest } = await store.writeFile([real]);
  const cases = [
    { name: 'empty-manifest', content: { data: null, manifest: encodeNode(EMPTY_MANIFEST) }, holds: Buffer.alloc(0) },
    { name: 'short-manifest', content: { data: null, manifest: encodeNode(manifest) }, holds: real },
    { name: 'short-inline', content: { data: Buffer.from('hello'), manifest: null }, holds: Buffer.from('hello') },
  ];
  for (const c of cases) {
    const ino = badNode(c.name, 8 * MiB, c.content);
    assert.equal(contentSizes(tree.get(ino), c.name).size, c.holds.length, c.name);
    const file = open(ino);
    assert.equal(file.size, c.holds.length, c.name);
    const all = await readStale(file, 0, 8 * MiB);
    assert.equal(all.n, c.holds.length, c.name);
    assert.ok(all.buf.subarray(0, all.n).equals(c.holds), c.name);
    assert.equal((await readStale(file, 4 * MiB, 4096)).n, 0, c.name);
    // One byte written past the end: the gap is zeros, committed as such.
    await file.write(Buffer.from('x'), 200_000);
    await file.commit();
    await file.close();
    const again = open(ino);
    assert.equal(again.size, 200_001, c.name);
    const after = await readStale(again, 0, 200_001);
    const expected = Buffer.alloc(200_001);
    c.holds.copy(expected);
    expected[200_000] = 0x78;
    assert.ok(after.buf.equals(expected), c.name);
    assert.equal(tree.get(ino).size, 200_001, c.name);
    await again.close();
  }
});

test('a 1 TiB sparse file: truncate, a few writes, commit; only the written bytes are stored and holes read as zeros', async (t) => {
  const { tree, open } = setup(t);
  const ino = tree.create(tree.root, 'sparse', 'file', 0o644).ino;
  const file = open(ino);
  await file.truncate(TiB);
  const writes = [0, 12345, 2 ** 39 + 7, TiB - 3].map((at, i) => ({ at, data: pseudoRandom(`w${i}`, at === TiB - 3 ? 3 : 5000) }));
  for (const w of writes) await file.write(w.data, w.at);
  assert.ok(file.stored < 100_000, `stored ${file.stored}`);
  await file.commit();
  await file.close();

  const node = tree.get(ino);
  assert.equal(node.size, TiB);
  const sizes = encodedSizes(node.manifest!, 'sparse');
  assert.equal(sizes.size, TiB);
  assert.ok(sizes.stored <= 100_000, `stored ${sizes.stored}`);
  const again = open(ino);
  assert.equal(again.size, TiB);
  for (const w of writes) assert.ok((await readStale(again, w.at, w.data.length)).buf.equals(w.data));
  const hole = await readStale(again, 2 ** 38, 128 * 1024);
  assert.equal(hole.n, 128 * 1024);
  assert.ok(hole.buf.equals(Buffer.alloc(128 * 1024)));

  // Growing and shrinking in a loop keeps the data before the cut and stores no zeros
  // (but those of a small file, kept inline: 5000 bytes here).
  for (const size of [TiB / 2, 10, 3 * TiB, 5000, TiB]) {
    await again.truncate(size);
    await again.commit();
  }
  const back = encodedSizes(tree.get(ino).manifest!, 'sparse');
  assert.deepEqual(back, { size: TiB, stored: 5000 });
  const head = Buffer.alloc(20_000);
  writes[0].data.copy(head, 0, 0, 10);
  assert.ok((await readStale(again, 0, 20_000)).buf.equals(head));
  await again.close();
});

test('sizes past the limit are FILE_TOO_BIG; a write across it writes what fits', async (t) => {
  const { tree, open } = setup(t);
  const file = open(tree.create(tree.root, 'big', 'file', 0o644).ino);
  await assert.rejects(file.truncate(MAX_FILE_SIZE + 1), (err) => isBazilError(err, 'FILE_TOO_BIG'));
  await assert.rejects(file.write(Buffer.from('x'), MAX_FILE_SIZE), (err) => isBazilError(err, 'FILE_TOO_BIG'));
  assert.equal(await file.write(Buffer.from('xyz'), MAX_FILE_SIZE - 1), 1);
  assert.equal(file.size, MAX_FILE_SIZE);
  await file.commit();
  await file.close();
  assert.equal(tree.get(file.ino).size, MAX_FILE_SIZE);
});

test('seek: SEEK_DATA and SEEK_HOLE over committed holes, uncommitted writes and truncates; ENXIO at the end', async (t) => {
  const { tree, open } = setup(t);
  const file = open(tree.create(tree.root, 'sparse', 'file', 0o644).ino);
  const seeks = async (offs: number[]) => Promise.all(offs.map(async (o) => [await file.seek(o, true), await file.seek(o, false)]));
  await file.truncate(TiB);
  await file.write(Buffer.from('A'), 0);
  await file.write(pseudoRandom('b', MiB), 3 * 2 ** 30);
  const expected = [
    [0, 1], // in the first byte
    [3 * 2 ** 30, 1], // in the hole after it
    [3 * 2 ** 30 + 5, 3 * 2 ** 30 + MiB], // in the MiB
    [undefined, 3 * 2 ** 30 + MiB], // only holes follow
  ];
  const offs = [0, 1, 3 * 2 ** 30 + 5, 3 * 2 ** 30 + MiB];
  assert.deepEqual(await seeks(offs), expected, 'written, not committed');
  assert.equal(await file.seek(TiB, true), undefined);
  assert.equal(await file.seek(TiB, false), undefined);
  await file.commit();
  assert.deepEqual(await seeks(offs), expected, 'committed');
  // A write over committed data, a truncate that hides the MiB's end, and a write in a committed hole.
  await file.write(Buffer.from('C'), 3 * 2 ** 30 + 10);
  await file.truncate(3 * 2 ** 30 + 100);
  await file.truncate(TiB);
  await file.write(Buffer.from('B'), 2 ** 39);
  assert.deepEqual(await seeks([1, 3 * 2 ** 30 + 5, 3 * 2 ** 30 + 100, 2 ** 39, 2 ** 39 + 1]), [
    [3 * 2 ** 30, 1],
    [3 * 2 ** 30 + 5, 3 * 2 ** 30 + 100],
    [2 ** 39, 3 * 2 ** 30 + 100],
    [2 ** 39, 2 ** 39 + 1],
    [undefined, 2 ** 39 + 1],
  ]);
  await file.commit();
  await file.close();
  // Reopened: the same, from the manifest alone; a small file is inline, all data.
  const again = open(file.ino);
  assert.equal(await again.seek(3 * 2 ** 30 + 100, true), 2 ** 39);
  assert.equal(await again.seek(3 * 2 ** 30 + 5, false), 3 * 2 ** 30 + 100);
  await again.close();
  const small = open(tree.create(tree.root, 'small', 'file', 0o644).ino);
  await small.write(Buffer.from('hello'), 0);
  await small.commit();
  assert.deepEqual([await small.seek(2, true), await small.seek(2, false), await small.seek(5, true)], [2, 5, undefined]);
  await small.close();
});
