/** The live tree's rules and the open-file dirty buffer, without FUSE. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { createDataDir, DataDir } from '../../../src/engine/datadir.js';
import { isBazilError, type ErrorCode } from '../../../src/engine/errors.js';
import { Extents } from '../../../src/engine/tree/extents.js';
import { OpenFile } from '../../../src/engine/tree/open-file.js';
import { Tree } from '../../../src/engine/tree/tree.js';
import { createVolume, volumeRowId } from '../../../src/engine/tree/volumes.js';
import { pseudoRandom, tempDir } from '../../helpers.js';

type T = Parameters<typeof tempDir>[0];

function openTree(t: T): { dir: DataDir; tree: Tree } {
  const path = join(tempDir(t), 'd');
  createDataDir(path);
  const dir = DataDir.open(path, { write: true });
  t.after(() => dir.close());
  createVolume(dir.db, 'v', 'default');
  return { dir, tree: new Tree(dir.db, volumeRowId(dir.db, 'v')) };
}

const fails = (code: ErrorCode) => (err: unknown) => isBazilError(err, code);

test('extents merge, cut and split a range into written and unwritten pieces', () => {
  const e = new Extents();
  e.add(10, 20);
  e.add(30, 40);
  e.add(15, 32); // bridges both
  e.add(50, 60);
  e.add(0, 5);
  assert.deepEqual([...e.segments(0, 70)], [
    { start: 0, end: 5, inside: true },
    { start: 5, end: 10, inside: false },
    { start: 10, end: 40, inside: true },
    { start: 40, end: 50, inside: false },
    { start: 50, end: 60, inside: true },
    { start: 60, end: 70, inside: false },
  ]);
  e.truncate(55);
  assert.deepEqual([...e.segments(52, 58)], [
    { start: 52, end: 55, inside: true },
    { start: 55, end: 58, inside: false },
  ]);
  assert.equal(e.first, 0);
  assert.equal(e.coversTo(5), false);
});

test('the tree keeps POSIX rules for create, remove and rename', (t) => {
  const { tree } = openTree(t);
  const a = tree.create(tree.root, 'a', 'dir', 0o755);
  const f = tree.create(a.ino, 'f', 'file', 0o644);
  tree.create(tree.root, 'empty', 'dir', 0o700);
  assert.throws(() => tree.create(a.ino, 'f', 'file', 0o644), fails('ALREADY_EXISTS'));
  assert.throws(() => tree.create(f.ino, 'x', 'file', 0o644), fails('NOT_A_DIRECTORY'));
  assert.throws(() => tree.create(a.ino, 'n'.repeat(256), 'file', 0o644), fails('NAME_TOO_LONG'));
  assert.throws(() => tree.remove(tree.root, 'a', true), fails('NOT_EMPTY'));
  assert.throws(() => tree.remove(tree.root, 'a', false), fails('IS_A_DIRECTORY'));
  assert.throws(() => tree.remove(a.ino, 'f', true), fails('NOT_A_DIRECTORY'));
  assert.throws(() => tree.rename(tree.root, 'a', a.ino, 'inside'), fails('INVALID_ARGUMENT'));
  assert.throws(() => tree.rename(a.ino, 'f', tree.root, 'empty'), fails('IS_A_DIRECTORY'));
  assert.throws(() => tree.rename(tree.root, 'empty', a.ino, 'f'), fails('NOT_A_DIRECTORY'));
  tree.create(tree.root, 'other', 'dir', 0o755);
  tree.create(tree.root, 'full', 'dir', 0o755);
  tree.create(tree.resolve('/full').ino, 'x', 'file', 0o600);
  assert.throws(() => tree.rename(tree.root, 'other', tree.root, 'full'), fails('NOT_EMPTY'));
  tree.rename(tree.root, 'other', tree.root, 'empty'); // over an empty directory
  tree.rename(a.ino, 'f', tree.root, 'moved');
  assert.equal(tree.resolve('/moved').ino, f.ino);
  assert.deepEqual(tree.children(tree.root).map((n) => n.name), ['a', 'empty', 'full', 'moved']);
  assert.equal(tree.subdirCount(tree.root), 3);
  assert.throws(() => tree.resolve('/moved/x'), fails('NOT_A_DIRECTORY'));
  assert.throws(() => tree.resolve('/nope'), fails('NOT_FOUND'));
});

test('an overwrite that grows a new file past the streaming threshold is not taken for an append', async (t) => {
  const { dir, tree } = openTree(t);
  const node = tree.create(tree.root, 'f', 'file', 0o644);
  const file = new OpenFile(node.ino, node, tree, dir.volumeContent('v'), join(dir.path, 'tmp'));
  t.after(() => file.close());
  const head = pseudoRandom('head', 3 << 20);
  const over = pseudoRandom('over', 4 << 20);
  await file.write(head, 0);
  await file.write(over, 1 << 20); // ends past the threshold, but starts inside the file
  await file.commit();
  const expected = Buffer.concat([head.subarray(0, 1 << 20), over]);
  assert.equal(tree.get(node.ino).size, expected.length);
  const buf = Buffer.alloc(expected.length);
  await file.read(buf, buf.length, 0);
  assert.ok(buf.equals(expected));
});

test('an open file merges writes over committed bytes, truncates to holes, and commits inline or to the store', async (t) => {
  const { dir, tree } = openTree(t);
  const store = dir.volumeContent('v');
  const tmp = join(dir.path, 'tmp');
  const node = tree.create(tree.root, 'f', 'file', 0o644);
  const model = Buffer.alloc(0);
  let expected = model;
  const file = new OpenFile(node.ino, node, tree, store, tmp);
  const check = async () => {
    const buf = Buffer.alloc(expected.length + 10);
    assert.equal(await file.read(buf, buf.length, 0), expected.length);
    assert.ok(buf.subarray(0, expected.length).equals(expected));
  };
  const write = async (data: Buffer, at: number) => {
    await file.write(data, at);
    const next = Buffer.alloc(Math.max(expected.length, at + data.length));
    expected.copy(next);
    data.copy(next, at);
    expected = next;
  };
  // Small, sequential, then past the inline limit and the streaming threshold.
  await write(Buffer.from('hello'), 0);
  await file.commit();
  assert.ok(tree.get(node.ino).data?.equals(Buffer.from('hello')));
  await write(pseudoRandom('big', 6 << 20), 5);
  await check();
  await file.commit();
  assert.ok(tree.get(node.ino).manifest, 'stored in the store, not inline');
  // Overwrite in the middle, truncate, grow again: the cut part reads as zeros.
  await write(Buffer.from('XYZ'), 3_000_000);
  await file.truncate(4_000_000);
  expected = expected.subarray(0, 4_000_000);
  await file.truncate(4_000_100);
  expected = Buffer.concat([expected, Buffer.alloc(100)]);
  await check();
  await file.commit(true);
  assert.equal(tree.get(node.ino).size, 4_000_100);
  const again = new OpenFile(node.ino, tree.get(node.ino), tree, store, tmp);
  const buf = Buffer.alloc(expected.length);
  await again.read(buf, buf.length, 0);
  assert.ok(buf.equals(expected));
  await file.close();
  await again.close();
  assert.deepEqual(readdirSync(tmp), [], 'no temp files left');
});
