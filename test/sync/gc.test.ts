/**
 * Garbage collection on real servers with real mounts: it removes what
 * nothing references and nothing else (live files, a snapshot, a conflict
 * and a file open after its unlink keep their content, as sha256sum through
 * the mount shows), it loses nothing while files are written and volumes
 * sync around it, and tombstones are forgotten once every peer has seen
 * them, without the deleted file coming back.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fuseUnavailable } from '../fuse/mount-helpers.js';
import { seededRandom } from '../helpers.js';
import { eventually, makeHost, shareVolume, type Host } from './hosts.js';

const skip = fuseUnavailable();
const HEAVY = process.env.BAZIL_HEAVY === '1';

interface Gc {
  objects: number;
  referenced: number;
  removed: number;
  sparedRecent: number;
  sparedForPeers: number;
  sparedUnknown: number;
  tombstonesForgotten: number;
  problems: string[];
}
const gc = async (h: Host): Promise<Gc> => JSON.parse(await h.ok('bazil gc --json'));
const objectFiles = async (h: Host): Promise<number> => Number((await h.ok('find data/objects -type f | wc -l')).trim());
/** sha256sum of every file under dir (in the mount), one line each, sorted by path. */
const sums = (h: Host, dir: string) => h.ok(`cd ${dir} && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum`);
const sync = (h: Host, from: Host) => h.ok(`bazil volume sync v ${from.key}`);

test('gc removes what nothing references, and keeps what files, snapshots, conflicts and open files hold', { skip, timeout: 120_000 }, async (t) => {
  const a = await makeHost(t, 'a');
  const b = await makeHost(t, 'b');
  await shareVolume([a, b], 'v', ['--manual-sync']);
  await a.ok('head -c 3000000 /dev/urandom >mnt/f1 && mkdir mnt/d && head -c 2000000 /dev/urandom >mnt/d/g && echo small >mnt/s');
  await a.ok('bazil volume snapshot v s1');
  // Old f1 is now in the snapshot only; junk is referenced by nothing once removed.
  await a.ok('head -c 3000000 /dev/urandom >mnt/f1 && head -c 2500000 /dev/urandom >mnt/junk && rm mnt/junk');
  // A conflict whose other version is content only a's store has (f2's, which a then deletes).
  // e sorts before f2: b reading f2 does not read ahead into it (read-ahead goes on into the next file),
  // so no peer holds a copy of e's content that a promised to keep, and a may collect it once e is gone.
  await a.ok('head -c 2000000 /dev/urandom >mnt/f2 && head -c 1500000 /dev/urandom >mnt/e');
  await sync(b, a);
  await b.ok('cp mnt/f2 mnt/c');
  await a.ok('head -c 1000000 /dev/urandom >mnt/c');
  const f2 = (await a.ok('sha256sum <mnt/f2')).trim();
  await a.ok('rm mnt/f2');
  await sync(a, b);
  assert.match(await a.ok('bazil conflicts list'), /\/c/);

  const live = await sums(a, 'mnt');
  const snap = await sums(a, 'mnt/.snap/s1');
  const e = (await a.ok('sha256sum <mnt/e')).trim();
  const before = await objectFiles(a);
  // e stays open (fd 3) across its unlink and the collection, then is read through that fd.
  const out = await a.ok('exec 3<mnt/e && rm mnt/e && bazil gc --json >gc.json && sha256sum <&3 && cat gc.json');
  const [openSum, ...json] = out.split('\n');
  const r = JSON.parse(json.join('\n')) as Gc;
  assert.equal(openSum.trim(), e, 'a file open across its unlink keeps its content');
  assert.ok(r.removed >= 1, `junk's objects go: ${JSON.stringify(r)}`);
  assert.equal(await objectFiles(a), before - r.removed);
  assert.equal(r.problems.length, 0, r.problems.join('\n'));

  assert.equal(await sums(a, 'mnt'), live.split('\n').filter((l) => !l.endsWith('./e')).join('\n'));
  assert.equal(await sums(a, 'mnt/.snap/s1'), snap);
  await a.ok('bazil check --read-data v');
  await a.ok('bazil conflicts resolve --theirs mnt/c');
  assert.equal((await a.ok('sha256sum <mnt/c')).trim(), f2, "the conflict's version survived the collection");
  // e is closed now: its content goes too; what is left is all referenced.
  const again = await gc(a);
  assert.ok(again.removed >= 1, JSON.stringify(again));
  assert.equal(again.objects - again.removed, again.referenced);
});

test('gc while files are written and volumes sync loses nothing', { skip, timeout: 600_000 }, async (t) => {
  const a = await makeHost(t, 'a');
  const b = await makeHost(t, 'b');
  await shareVolume([a, b]);
  const rand = seededRandom(20261129);
  // Files are cut from a few seed files: they share chunks (dedup across files and versions).
  for (const h of [a, b]) await h.ok('for i in 0 1 2 3; do head -c 3000000 /dev/urandom >../seed$i; done');
  const ops = HEAVY ? 200 : 30;
  /** path -> sha256 of what it should hold at the end (undefined: deleted). Each host writes its own names. */
  const want = new Map<string, string | undefined>();
  let collecting = true;
  const collector = (async () => {
    let runs = 0;
    while (collecting) {
      for (const h of [a, b]) await h.ok('bazil gc >/dev/null');
      runs++;
    }
    return runs;
  })();
  for (let i = 0; i < ops; i++) {
    const h = rand() < 0.5 ? a : b;
    const names = [...want.keys()].filter((p) => p.startsWith(`${h.name}`) && want.get(p) !== undefined);
    const r = rand();
    if (r < 0.2 && names.length > 0) {
      const p = names[Math.floor(rand() * names.length)];
      await h.ok(`rm mnt/${p}`);
      want.set(p, undefined);
    } else {
      // New files and overwrites, some sharing content with others (dedup across files).
      const p = r < 0.5 && names.length > 0 ? names[Math.floor(rand() * names.length)] : `${h.name}${i}`;
      const bytes = Math.floor(rand() * 3_000_000) + 1;
      const seed = Math.floor(rand() * 4);
      const sum = await h.ok(`head -c ${bytes} ../seed${seed} >mnt/${p} && sha256sum <mnt/${p} | cut -c1-64`);
      want.set(p, sum.trim());
    }
  }
  collecting = false;
  t.diagnostic(`${await collector} collections ran on each host during ${ops} changes`);
  const expected = [...want]
    .filter(([, s]) => s !== undefined)
    .sort(([x], [y]) => Buffer.compare(Buffer.from(x), Buffer.from(y)))
    .map(([p, s]) => `${s}  ./${p}`)
    .join('\n');
  for (const h of [a, b]) {
    let got = '';
    await eventually(async () => (got = (await sums(h, 'mnt')).trim()) === expected, 60_000).catch(() => {});
    assert.equal(got, expected, `${h.name} holds every file as last written`);
    await h.ok('bazil gc >/dev/null');
    assert.equal((await sums(h, 'mnt')).trim(), expected);
  }
  for (const h of [a, b]) await h.ok('bazil check --read-data');
});

test('tombstones are forgotten once every peer has seen them, and the file does not come back', { skip, timeout: 120_000 }, async (t) => {
  const a = await makeHost(t, 'a');
  const b = await makeHost(t, 'b');
  const c = await makeHost(t, 'c');
  await shareVolume([a, b, c], 'v', ['--manual-sync']); // b and c each sync with a
  await a.ok('echo gone >mnt/x && echo stays >mnt/y');
  for (const h of [b, c]) await sync(h, a);
  await sync(a, c); // c has x; a has heard from c
  await a.ok('rm mnt/x');
  await sync(b, a);
  await sync(a, b);
  // c has not seen the deletion (a heard from it before): a keeps its tombstone.
  assert.equal((await gc(a)).tombstonesForgotten, 0);
  await sync(c, a);
  await sync(a, c);
  assert.equal((await gc(a)).tombstonesForgotten, 1);
  for (const h of [b, c]) {
    await sync(h, a);
    await sync(a, h);
  }
  assert.deepEqual([(await gc(b)).tombstonesForgotten, (await gc(c)).tombstonesForgotten], [1, 1], 'b and c forget theirs too');
  // Every way round again: x stays gone everywhere.
  for (const [to, from] of [[a, b], [a, c], [b, a], [c, a], [a, b], [a, c]] as const) await sync(to, from);
  for (const h of [a, b, c]) assert.equal((await h.ok('ls mnt')).trim(), 'y', `${h.name} lists only y`);
  assert.equal((await gc(b)).tombstonesForgotten + (await gc(c)).tombstonesForgotten, 0, 'nothing came back to forget again');
});
