/** The sync's rules between replicas in one process (no network, no mount): what each kind of change does. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rep } from './harness.js';

test('a new file, a change, and a sync that finds nothing new', async (t) => {
  const a = Rep.make(t, 'a');
  const b = Rep.make(t, 'b');
  a.write('/greeting', 'hello, world\n');
  let stats = await b.pullFrom(a);
  assert.equal(b.read('/greeting'), 'hello, world\n');
  assert.equal(stats.copied, 1);
  a.write('/greeting', 'hello, again\n');
  stats = await b.pullFrom(a);
  assert.equal(b.read('/greeting'), 'hello, again\n');
  assert.equal(stats.copied, 1);
  stats = await b.pullFrom(a);
  assert.deepEqual(stats, { dirs: 1, copied: 0, deleted: 0, conflicts: 0, postponed: 0 }, 'nothing new: one listing, no walk');
  // And back: a has seen everything b has.
  stats = await a.pullFrom(b);
  assert.equal(stats.copied + stats.deleted + stats.conflicts, 0);
  assert.equal(stats.dirs, 1);
});

test('subdirectories, deletions and renames converge, and an unchanged subtree is skipped', async (t) => {
  const a = Rep.make(t, 'a');
  const b = Rep.make(t, 'b');
  a.mkdir('/d');
  a.mkdir('/d/e');
  a.write('/d/e/f', 'deep');
  a.mkdir('/other');
  for (let i = 0; i < 20; i++) a.write(`/other/${i}`, `x${i}`);
  await b.pullFrom(a);
  assert.deepEqual(b.listing(), a.listing());

  a.write('/d/e/g', 'new');
  const stats = await b.pullFrom(a);
  assert.equal(stats.dirs, 3, 'listed /, /d, /d/e; /other was skipped');
  assert.deepEqual(b.listing(), a.listing());

  a.rm('/d/e/f');
  a.mv('/d/e/g', '/d/g2');
  a.mv('/other', '/moved');
  a.rm('/moved/3');
  await b.pullFrom(a);
  assert.deepEqual(b.listing(), a.listing());
  assert.ok(!b.has('/other') && b.has('/moved/19') && !b.has('/moved/3'));

  // Changes made on b flow back, deletions included.
  b.rm('/d');
  b.write('/moved/new', 'from b');
  await a.pullFrom(b);
  assert.deepEqual(a.listing(), b.listing());
  assert.ok(!a.has('/d'));
});

test('a file changed on both sides is a conflict: each keeps its own, and every resolution converges', async (t) => {
  for (const choice of ['mine', 'theirs', 'both'] as const) {
    const a = Rep.make(t, `a-${choice}`);
    const b = Rep.make(t, `b-${choice}`);
    a.write('/notes.txt', 'v1');
    await b.pullFrom(a);
    a.write('/notes.txt', 'from a');
    b.write('/notes.txt', 'from b');
    const stats = await b.pullFrom(a);
    assert.equal(stats.conflicts, 1);
    assert.equal(b.read('/notes.txt'), 'from b', 'the local version stays in place');
    const [c] = b.conflicts();
    assert.equal(c.path, '/notes.txt');
    assert.equal(c.peer, a.key.toString('hex'));
    assert.equal(c.theirs.data?.toString(), 'from a');
    // Syncing again does not duplicate it.
    await b.pullFrom(a);
    assert.equal(b.conflicts().length, 1);

    const r = b.resolve('/notes.txt', choice);
    assert.equal(b.conflicts().length, 0);
    await a.pullFrom(b);
    await b.pullFrom(a);
    assert.deepEqual(a.listing(), b.listing(), `converged after --${choice}`);
    const expected = { mine: 'from b', theirs: 'from a', both: 'from b' }[choice];
    assert.equal(a.read('/notes.txt'), expected);
    if (choice === 'both') {
      assert.equal(r.savedAs, `/notes.conflict-${a.key.toString('hex').slice(0, 8)}.txt`);
      assert.equal(a.read(r.savedAs!), 'from a');
    }
    assert.equal(a.conflicts().length, 0, 'a never saw a conflict: b resolved first');
    assert.equal(b.conflicts(true)[0].resolution, choice, 'the resolution is kept on record');
  }
});

test('both sides pull before either resolves: resolving on one side settles the other', async (t) => {
  const a = Rep.make(t, 'a');
  const b = Rep.make(t, 'b');
  a.write('/f', 'v1');
  await b.pullFrom(a);
  a.write('/f', 'A');
  b.write('/f', 'B');
  await b.pullFrom(a);
  await a.pullFrom(b);
  assert.equal(a.conflicts().length, 1);
  assert.equal(b.conflicts().length, 1);
  a.resolve('/f', 'both');
  await b.pullFrom(a);
  assert.equal(b.conflicts().length, 0, "b's record is settled by a's resolution");
  await a.pullFrom(b);
  assert.deepEqual(a.listing(), b.listing());
  assert.equal(b.read('/f'), 'A');
});

test('delete versus edit: the edit survives on both sides, and the conflict is listed', async (t) => {
  const a = Rep.make(t, 'a');
  const b = Rep.make(t, 'b');
  a.mkdir('/d');
  a.write('/d/f', 'v1');
  a.write('/g', 'v1');
  await b.pullFrom(a);
  a.rm('/g');
  b.write('/g', 'edited on b');
  a.rm('/d');
  b.write('/d/f', 'edited in d on b');
  b.write('/d/new', 'new on b');

  await b.pullFrom(a); // b: edited here, deleted there -> kept, listed
  assert.equal(b.read('/g'), 'edited on b');
  assert.equal(b.read('/d/f'), 'edited in d on b');
  assert.deepEqual(b.conflicts().map((c) => [c.path, c.theirs.kind]).sort(), [['/d/f', 'deleted'], ['/g', 'deleted']]);

  await a.pullFrom(b); // a: deleted here, edited there -> restored, listed
  assert.equal(a.read('/g'), 'edited on b');
  assert.equal(a.read('/d/f'), 'edited in d on b');
  assert.equal(a.read('/d/new'), 'new on b');
  assert.ok(a.conflicts().some((c) => c.path === '/g' && c.localDeleted));

  // b agrees with the deletion after all.
  b.resolve('/g', 'theirs');
  await a.pullFrom(b);
  assert.ok(!a.has('/g'));
  await b.pullFrom(a);
  assert.deepEqual(a.listing(), b.listing());
});

test('an untouched file deleted on one side is deleted on the other; an edited one in a deleted directory is not', async (t) => {
  const a = Rep.make(t, 'a');
  const b = Rep.make(t, 'b');
  a.mkdir('/d');
  a.write('/d/keep', 'x');
  a.write('/d/drop', 'y');
  await b.pullFrom(a);
  b.rm('/d/drop');
  await a.pullFrom(b);
  assert.ok(!a.has('/d/drop') && a.has('/d/keep'));
  b.rm('/d');
  await a.pullFrom(b);
  assert.ok(!a.has('/d'), 'the whole directory goes');
  assert.equal(a.conflicts().length, 0);
});

test('a file open here is not changed by a sync; the change lands once it is closed', async (t) => {
  const a = Rep.make(t, 'a');
  const b = Rep.make(t, 'b');
  a.write('/f', 'v1');
  a.write('/gone', 'x');
  await b.pullFrom(a);
  a.write('/f', 'v2');
  a.rm('/gone');
  b.open.add(b.node('/f').ino);
  b.open.add(b.node('/gone').ino);
  let stats = await b.pullFrom(a);
  assert.equal(stats.postponed, 2);
  assert.equal(b.read('/f'), 'v1');
  assert.ok(b.has('/gone'));
  assert.equal(b.postponed.length, 2);
  b.open.clear();
  stats = await b.pullFrom(a);
  assert.equal(b.read('/f'), 'v2');
  assert.ok(!b.has('/gone'));
  assert.equal(stats.postponed, 0);
});

test('three peers in a chain converge: a -> b -> c, and back', async (t) => {
  const a = Rep.make(t, 'a');
  const b = Rep.make(t, 'b');
  const c = Rep.make(t, 'c');
  a.mkdir('/x');
  a.write('/x/1', 'one');
  await b.pullFrom(a);
  await c.pullFrom(b);
  assert.deepEqual(c.listing(), a.listing());
  c.write('/x/1', 'changed on c');
  c.write('/x/2', 'two');
  await b.pullFrom(c);
  await a.pullFrom(b);
  assert.deepEqual(a.listing(), c.listing());
  assert.equal(a.conflicts().length + b.conflicts().length + c.conflicts().length, 0);
  // a now syncs straight from c: nothing new.
  const stats = await a.pullFrom(c);
  assert.equal(stats.copied + stats.conflicts, 0);
});

test('the same change made on both sides is not a conflict', async (t) => {
  const a = Rep.make(t, 'a');
  const b = Rep.make(t, 'b');
  a.write('/same', 'identical');
  b.write('/same', 'identical');
  await b.pullFrom(a);
  await a.pullFrom(b);
  assert.equal(a.conflicts().length + b.conflicts().length, 0);
});

test('a deletion pulled where the name had no trace is kept: a version it superseded, arriving from a third peer, stays deleted', async (t) => {
  const a = Rep.make(t, 'a');
  const b = Rep.make(t, 'b');
  const c = Rep.make(t, 'c');
  c.write('/g', 'v1');
  await b.pullFrom(c);
  // A conflict on /g keeps b's root from taking in c's s, so b's tombstone
  // for /f knows more of c than b's root does.
  c.write('/g', 'from c');
  b.write('/g', 'from b');
  c.write('/f', 'made on c');
  await b.pullFrom(c);
  assert.equal(b.conflicts().length, 1);
  b.rm('/f');
  await a.pullFrom(b); // a never had /f: b's deletion is all a knows of it
  await a.pullFrom(c); // c's /f is what b deleted
  await a.pullFrom(b);
  assert.ok(!a.has('/f'), "c's /f was deleted on b after b saw it");
  await b.pullFrom(a);
  assert.ok(!b.has('/f'));
});

test('a directory deleted on one side and emptied on the other ends deleted everywhere, whichever way the sync runs', async (t) => {
  const a = Rep.make(t, 'a');
  const b = Rep.make(t, 'b');
  const c = Rep.make(t, 'c');
  a.mkdir('/d');
  a.write('/d/x', 'x');
  await b.pullFrom(a);
  await c.pullFrom(a);
  c.rm('/d');
  b.rm('/d/x'); // a change in /d, but nothing that needs /d kept
  await a.pullFrom(c); // a deletes /d
  await a.pullFrom(b); // a: deleted here, changed there
  await b.pullFrom(c); // b: changed here, deleted there
  for (let round = 0; round < 2; round++) {
    for (const [x, y] of [[a, b], [b, a], [a, c], [c, a], [b, c], [c, b]]) await x.pullFrom(y);
  }
  assert.deepEqual([a.has('/d'), b.has('/d'), c.has('/d')], [false, false, false]);
  assert.equal(a.conflicts().length + b.conflicts().length + c.conflicts().length, 0);
});

/** Syncs every pair both ways, twice: with nothing new anywhere, all should agree. */
async function syncAll(...reps: Rep[]): Promise<void> {
  for (let round = 0; round < 2; round++) for (const x of reps) for (const y of reps) if (x !== y) await x.pullFrom(y);
}

test('a directory restored over our deletion still deletes what we deleted in it, at replicas that have seen the restored version', async (t) => {
  const a = Rep.make(t, 'a');
  const b = Rep.make(t, 'b');
  const c = Rep.make(t, 'c');
  a.mkdir('/d');
  await b.pullFrom(a);
  await c.pullFrom(a);
  a.write('/d/sub', 'made on a');
  await c.pullFrom(a);
  b.write('/d/new', 'made on b');
  a.rm('/d'); // /d/sub with it
  await a.pullFrom(b); // /d comes back for b's change, without /d/sub
  assert.ok(a.has('/d/new') && !a.has('/d/sub'));
  await c.pullFrom(b); // c has seen everything a's restored /d came from
  await syncAll(a, b, c);
  assert.deepEqual([a.has('/d/sub'), b.has('/d/sub'), c.has('/d/sub')], [false, false, false]);
  assert.deepEqual(c.listing(), a.listing());
  assert.deepEqual(b.listing(), a.listing());
});

test('a directory kept for our change after a peer deleted it still deletes what the peer deleted, at replicas that have seen ours', async (t) => {
  const d = Rep.make(t, 'd'); // deletes /dir
  const w = Rep.make(t, 'w'); // changes /dir
  const x = Rep.make(t, 'x');
  d.mkdir('/dir');
  await w.pullFrom(d);
  await x.pullFrom(d);
  d.write('/dir/y', 'made on d');
  await x.pullFrom(d);
  w.write('/dir/z', 'made on w');
  await x.pullFrom(w); // x has seen w's change
  d.rm('/dir');
  await w.pullFrom(d); // w keeps /dir for z: d had never seen it
  assert.ok(w.has('/dir/z'));
  await syncAll(d, w, x);
  assert.deepEqual([d.has('/dir/y'), w.has('/dir/y'), x.has('/dir/y')], [false, false, false]);
  assert.deepEqual(w.listing(), d.listing());
  assert.deepEqual(x.listing(), d.listing());
});

test('in a directory restored over our deletion, what we deleted with it stays deleted even where a peer had deleted it earlier', async (t) => {
  const a = Rep.make(t, 'a');
  const b = Rep.make(t, 'b');
  const c = Rep.make(t, 'c');
  a.mkdir('/d');
  a.write('/d/f', 'v1');
  await b.pullFrom(a);
  await c.pullFrom(a);
  b.rm('/d/f');
  await c.pullFrom(b); // c's tombstone for /d/f: b's deletion of v1
  c.write('/d/h', 'made on c');
  a.write('/d/f', 'v2');
  await b.pullFrom(a); // v2 comes back to b over its deletion
  assert.equal(b.read('/d/f'), 'v2');
  a.rm('/d'); // v2 deleted with /d
  await a.pullFrom(c); // /d comes back for /d/h, with c's old tombstone for /d/f
  assert.ok(a.has('/d/h') && !a.has('/d/f'));
  await syncAll(a, b, c);
  assert.deepEqual([a.has('/d/f'), b.has('/d/f'), c.has('/d/f')], [false, false, false]);
  assert.deepEqual(b.listing(), a.listing());
  assert.deepEqual(c.listing(), a.listing());
});

test("a tombstone takes in a peer's later deletion of the same name, made with its directory", async (t) => {
  const a = Rep.make(t, 'a');
  const b = Rep.make(t, 'b');
  const c = Rep.make(t, 'c');
  a.mkdir('/d');
  a.write('/d/x', 'v0');
  await b.pullFrom(a);
  await c.pullFrom(a);
  a.rm('/d/x');
  await c.pullFrom(a);
  b.write('/d/x', 'v1');
  await c.pullFrom(b); // v1 comes back to c over a's deletion
  assert.equal(c.read('/d/x'), 'v1');
  b.rm('/d'); // b deletes v1 with /d
  a.write('/d/y', 'keeps /d on a');
  await a.pullFrom(b); // a's tombstone for /d/x: now also b's deletion
  await c.pullFrom(a);
  await syncAll(a, b, c);
  assert.deepEqual([a.has('/d/x'), b.has('/d/x'), c.has('/d/x')], [false, false, false]);
  assert.deepEqual(b.listing(), a.listing());
  assert.deepEqual(c.listing(), a.listing());
});

test('a directory moved away and restored for a peer change converges: what comes back supersedes what was moved', async (t) => {
  const a = Rep.make(t, 'a');
  const b = Rep.make(t, 'b');
  const c = Rep.make(t, 'c');
  b.mkdir('/d');
  b.write('/d/g', 'g0');
  await c.pullFrom(b);
  b.write('/d/g', 'g1');
  b.write('/d/f', 'b1');
  c.open.add(c.node('/d/g').ino);
  await c.pullFrom(b); // /d/f comes, /d/g waits: /d is not settled, its s stays behind /d/f's
  c.open.clear();
  c.write('/d/f', 'c1');
  await a.pullFrom(c); // a has c's /d/f
  c.mv('/d', '/e'); // c1 goes with it; /d's tombstone has /d's s, which lacks b1
  b.write('/d/h', 'new on b');
  await c.pullFrom(b); // /d comes back for /d/h; b1 looks new there
  await syncAll(a, b, c);
  assert.deepEqual(b.listing(), a.listing());
  assert.deepEqual(c.listing(), a.listing());
  assert.equal(a.read('/e/f'), 'c1');
  assert.equal(a.read('/d/h'), 'new on b');
});

test('what we keep in a directory a peer deleted, as new to it, does not take in what the peer had seen there', async (t) => {
  const a = Rep.make(t, 'a');
  const b = Rep.make(t, 'b');
  const c = Rep.make(t, 'c');
  b.mkdir('/d');
  b.write('/d/g', 'g0');
  await a.pullFrom(b);
  await c.pullFrom(b);
  b.rm('/d/g');
  b.mkdir('/d/x');
  a.open.add(a.node('/d/g').ino);
  await a.pullFrom(b); // /d/x comes, /d/g's deletion waits: a's /d is not settled, its s lacks b's changes
  a.open.clear();
  a.write('/d/x/f', 'made on a');
  await c.pullFrom(a); // c's /d: a's s, which has /d/x/f but lacks b's making /d/x
  c.mv('/d', '/e');
  await b.pullFrom(c); // /d/x is new by c's deletion: b keeps it, but has not seen /d/x/f
  await b.pullFrom(a);
  assert.equal(b.read('/d/x/f'), 'made on a');
  await syncAll(a, b, c);
  assert.deepEqual(b.listing(), a.listing());
  assert.deepEqual(c.listing(), a.listing());
});

test('a version restored in a directory restored over our deletion supersedes what we had deleted before', async (t) => {
  const a = Rep.make(t, 'a');
  const b = Rep.make(t, 'b');
  const c = Rep.make(t, 'c');
  a.mkdir('/d');
  a.write('/d/g', 'g0');
  a.write('/d/f', 'f0');
  await b.pullFrom(a);
  await c.pullFrom(a);
  c.write('/d/f', 'c1');
  c.write('/d/g', 'g1');
  a.open.add(a.node('/d/g').ino);
  await a.pullFrom(c); // c1 comes, g1 waits: a's /d is not settled, its s lacks c's changes
  a.open.clear();
  a.rm('/d/f'); // having seen c1
  await b.pullFrom(a);
  assert.ok(!b.has('/d/f'));
  a.mv('/d', '/e'); // /d's tombstone has /d's s: c1 looks unseen
  c.write('/d/h', 'new on c');
  await a.pullFrom(c); // /d comes back, and c1 with it, as deleted here and changed there
  await syncAll(a, b, c);
  assert.deepEqual(b.listing(), a.listing());
  assert.deepEqual(c.listing(), a.listing());
});

test('a version restored over our deletion supersedes that deletion, so a later deletion of it that had not seen ours does not win unseen', async (t) => {
  const a = Rep.make(t, 'a');
  const b = Rep.make(t, 'b');
  const c = Rep.make(t, 'c');
  b.mkdir('/d');
  b.write('/d/f', 'v0');
  b.write('/d/k', 'k0');
  await a.pullFrom(b);
  await c.pullFrom(b);
  c.rm('/d/f');
  c.write('/d/n', 'new on c'); // keeps c's /d when a's deletion of it comes
  a.rm('/d');
  await c.pullFrom(a); // c's tombstone for /d/f takes in a's deletion
  b.write('/d/f', 'v1');
  await a.pullFrom(b); // /d comes back to a, and v1 with it
  await c.pullFrom(b); // deleted here, changed there: v1 comes back to c
  b.rm('/d/f'); // having seen v1, not the deletions on a and c
  await c.pullFrom(b);
  await b.pullFrom(a);
  await a.pullFrom(c);
  await syncAll(a, b, c);
  assert.deepEqual(b.listing(), a.listing());
  assert.deepEqual(c.listing(), a.listing());
});
