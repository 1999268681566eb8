/**
 * Listings in pages and trees of any depth, between replicas in one process:
 * a directory too big for one peer message syncs, a directory that changes
 * between the pages of its listing loses nothing, and a chain deeper than
 * Linux paths reach is taken as far as they reach, then refused.
 * BAZIL_HEAVY=1 syncs a directory of 100,000 entries (20,000 otherwise), and
 * takes snapshots of the deep chains (a store write and fsync per directory:
 * minutes for 12,000).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isBazilError } from '../../../src/engine/errors.js';
import { listPage, PAGE_BYTES } from '../../../src/engine/sync/listing.js';
import { pull } from '../../../src/engine/sync/pull.js';
import type { DirHandle } from '../../../src/engine/sync/validate.js';
import { takeSnapshot } from '../../../src/engine/tree/snapshots.js';
import { Rep } from './harness.js';

const HEAVY = process.env.BAZIL_HEAVY === '1';

/** b pulls from a; between the pages of a listing, between(page number) may change a. Returns the pages asked for. */
async function pullCounting(b: Rep, a: Rep, between: (pages: number, dir: DirHandle | null) => void = () => {}): Promise<number> {
  let pages = 0;
  await pull({
    tree: b.tree,
    db: b.dir.db,
    volume: b.volume,
    replicas: b.replicas,
    peer: a.key,
    list: async (dir, after) => {
      if (after !== null) between(pages, dir);
      pages++;
      const page = JSON.stringify(listPage(a.tree, a.replicas, dir, after));
      assert.ok(page.length < PAGE_BYTES + 64 * 1024, `a page of ${page.length} bytes`);
      return JSON.parse(page);
    },
    isOpen: () => false,
    postponed: () => {},
  });
  return pages;
}

test(`a directory of ${HEAVY ? '100,000' : '20,000'} entries syncs, in pages`, async (t) => {
  const n = HEAVY ? 100_000 : 20_000;
  const a = Rep.make(t, 'a');
  const b = Rep.make(t, 'b');
  a.mkdir('/big');
  const dir = a.node('/big').ino;
  a.tree.transaction(() => {
    for (let i = 0; i < n; i++) {
      const f = a.tree.create(dir, `file-${i}`, 'file', 0o644);
      a.tree.setContent(f.ino, { size: 8, data: Buffer.from(String(i).padStart(8)) }, Date.now());
    }
    for (let i = 0; i < n; i += 10) a.tree.remove(dir, `file-${i}`, false); // tombstones page with the rest
  });
  const pages = await pullCounting(b, a);
  assert.ok(pages > 3, `${pages} pages`);
  assert.equal(b.tree.children(b.node('/big').ino).length, n - n / 10);
  assert.equal(b.tree.tombstones(b.node('/big').ino).length, n / 10);
  assert.equal(b.read('/big/file-12345'), '   12345');
  assert.equal(await pullCounting(b, a), 1, 'nothing new: one page of the root');
});

test('a directory that changes between the pages of its listing converges, losing nothing', async (t) => {
  const a = Rep.make(t, 'a');
  const b = Rep.make(t, 'b');
  // 120 files of 16 KiB travel inline: about 2.6 MB of listing, three pages.
  const content = (i: number) => `${i}`.padEnd(16 * 1024, '.');
  for (let i = 0; i < 120; i++) a.write(`/f${String(i).padStart(3, '0')}`, content(i));
  let changed = false;
  const pages = await pullCounting(b, a, (page) => {
    if (page !== 1 || changed) return;
    changed = true;
    // After the first page: a name from a later page moves to an earlier one, one
    // on the first page changes, one on a later page goes, one is made on each.
    a.mv('/f119', '/a-moved');
    a.write('/f001', 'changed');
    a.rm('/f100');
    a.write('/a-new', 'new');
    a.write('/z-new', 'new');
  });
  assert.ok(changed && pages >= 3, `${pages} pages`);
  await b.pullFrom(a);
  assert.deepEqual(b.listing(), a.listing());
  assert.equal(b.read('/a-moved'), content(119));
  assert.equal(b.read('/f001'), 'changed');
  // And back: b's view takes nothing from a.
  const before = a.listing();
  await a.pullFrom(b);
  assert.deepEqual(a.listing(), before);
  assert.equal(b.conflicts().length + a.conflicts().length, 0);
});

test(`a chain of 12,000 directories: taken as deep as a path reaches (PATH_MAX), the rest refused; ${HEAVY ? 'snapshots and ' : ''}later syncs work`, async (t) => {
  const a = Rep.make(t, 'a');
  const b = Rep.make(t, 'b');
  a.write('/beside', 'ok');
  a.tree.transaction(() => {
    let at = a.tree.root;
    for (let i = 0; i < 12_000; i++) at = a.tree.create(at, 'd', 'dir', 0o755).ino;
  });
  const refused = (err: unknown) => isBazilError(err, 'NAME_TOO_LONG') && /longer than 4095 bytes \(PATH_MAX\), such as \/[de]\/d\/d/.test((err as Error).message);
  await assert.rejects(b.pullFrom(a), refused);
  const depth = (r: Rep) => {
    let n = 0;
    for (let at = r.tree.lookup(r.tree.root, 'd'); at; at = r.tree.lookup(at.ino, 'd')) n++;
    return n;
  };
  assert.equal(depth(b), 2047, '/d repeated 2047 times is 4094 bytes, the longest path Linux takes');
  assert.equal(b.read('/beside'), 'ok', 'everything else was taken');
  if (HEAVY) {
    // Both trees serialize into snapshots (no recursion).
    await takeSnapshot(a.tree, a.dir.volumeContent('v'), a.dir.db, 'deep');
    await takeSnapshot(b.tree, b.dir.volumeContent('v'), b.dir.db, 'deep');
  }
  // A later sync still works: it takes what is new, and refuses the same again. The chain
  // renamed there: here it is deleted (without recursion), and taken again under its new name.
  a.write('/later', 'yes');
  a.mv('/d', '/e');
  await assert.rejects(b.pullFrom(a), refused);
  assert.equal(b.tree.lookup(b.tree.root, 'd'), undefined);
  let e = 0;
  for (let at = b.tree.lookup(b.tree.root, 'e'); at; at = b.tree.lookup(at.ino, 'd')) e++;
  assert.equal(e, 2047);
  assert.equal(b.read('/later'), 'yes');
});
