/**
 * The local store as a cache, on real servers with real mounts: the budget
 * holds through a read far larger than it, eviction goes least recently used
 * over content kept elsewhere and never touches pinned or unique content,
 * pins keep a growing directory readable with its only peer gone, and
 * whereis says where content is before and after reads and evictions.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fuseUnavailable } from '../fuse/mount-helpers.js';
import { storeBytes } from '../helpers.js';
import { eventually, makeHost, shareVolume, type Host } from './hosts.js';

const skip = fuseUnavailable();
const MiB = 2 ** 20;
/** Most a chunk may be (store/chunker.ts). */
const CHUNK_MAX = 4 * MiB;

async function pair(t: Parameters<typeof makeHost>[0]): Promise<[Host, Host]> {
  const a = await makeHost(t, 'a');
  const b = await makeHost(t, 'b');
  await shareVolume([a, b]);
  return [a, b];
}

interface Stats {
  minFree: number;
  used: number;
  budget: number;
  pinned: number;
  notElsewhere: number;
  evictable: number;
}
const cacheStats = async (h: Host): Promise<Stats> => JSON.parse(await h.ok('bazil cache --json'));

interface Where {
  path: string;
  here: string;
  pinned: boolean;
  stores: { store: string; kept: boolean }[];
  needs?: string[];
}
const whereis = async (h: Host, ...paths: string[]): Promise<Map<string, Where>> =>
  new Map((JSON.parse(await h.ok(`bazil whereis --json ${paths.join(' ')}`)) as Where[]).map((w) => [w.path, w]));

/** Writes random files on `a` and waits until `b` lists them; returns their sha256 sums. */
async function filesFrom(a: Host, b: Host, files: Record<string, number>): Promise<Record<string, string>> {
  const sums: Record<string, string> = {};
  for (const [name, bytes] of Object.entries(files)) {
    sums[name] = (await a.ok(`mkdir -p $(dirname mnt/${name}) && head -c ${bytes} /dev/urandom >mnt/${name} && sha256sum <mnt/${name} | cut -c1-64`)).trim();
  }
  const list = Object.entries(files).map(([n, s]) => `${n} ${s}`).sort().join('\n');
  await eventually(async () => (await b.ok(`cd mnt && for f in ${Object.keys(files).join(' ')}; do [ -f $f ] && echo $f $(stat -c %s $f); done | sort`)).trim() === list, 20_000, 'the files reach b');
  return sums;
}

test('the budget holds while reading far more than it from a peer; the writer keeps what only it has', { skip }, async (t) => {
  const [a, b] = await pair(t);
  const sums = await filesFrom(a, b, { big: 96 * MiB });
  await b.ok('bazil cache set-size --keep-free=1G 8M');
  assert.equal((await cacheStats(b)).minFree, 2 ** 30, '--keep-free is taken');
  // Sample b's store on the disk through the whole read.
  let most = 0;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      most = Math.max(most, storeBytes(b.dataDir));
      await new Promise((r) => setTimeout(r, 5));
    }
  })();
  const sum = (await b.ok('sha256sum <mnt/big | cut -c1-64')).trim();
  sampling = false;
  await sampler;
  assert.equal(sum, sums.big);
  t.diagnostic(`b's store peaked at ${(most / MiB).toFixed(1)} MiB reading 96 MiB with an 8 MiB budget`);
  // Over the budget only by the objects being put at one moment: a read-ahead's worth of chunks.
  assert.ok(most <= 8 * MiB + 9 * CHUNK_MAX, `b's store reached ${most} bytes with a budget of 8 MiB`);
  assert.ok(storeBytes(b.dataDir) <= 8 * MiB, `b's store holds ${storeBytes(b.dataDir)} bytes after the read`);
  const bs = await cacheStats(b);
  assert.ok(bs.used <= bs.budget && bs.notElsewhere === 0, JSON.stringify(bs));

  // a wrote it: its copy is the one that is kept. Asked, b says it only caches it, so a keeps it all.
  const before = storeBytes(a.dataDir);
  assert.ok(before >= 96 * MiB);
  await a.ok('bazil cache set-size 1M');
  await eventually(async () => (await whereis(a, 'mnt/big')).get('/big')!.stores.some((s) => s.store === `peer:${b.key}` && !s.kept), 20_000, 'a learns b caches it');
  assert.equal(storeBytes(a.dataDir), before);
  const as = await cacheStats(a);
  assert.ok(as.notElsewhere >= 96 * MiB && as.evictable === 0, JSON.stringify(as));
  assert.equal((await a.ok('sha256sum <mnt/big | cut -c1-64')).trim(), sums.big);
});

test('eviction goes least recently used, never evicts pinned or unique content, and whereis follows it', { skip }, async (t) => {
  const [a, b] = await pair(t);
  const sums = await filesFrom(a, b, { f1: 4 * MiB, f2: 4 * MiB, f3: 4 * MiB, f4: 4 * MiB });
  // b: 4 MiB pinned + 2 MiB of its own + room for two of a's files.
  await b.ok('bazil cache set-size 15M && head -c 2097152 /dev/urandom >mnt/mine && bazil pin mnt/f4');
  await eventually(async () => /complete/.test(await b.ok('bazil pin list')), 20_000, 'the pin is complete');
  let w = await whereis(b, 'mnt');
  assert.equal(w.get('/f1')!.here, 'none');
  assert.deepEqual(w.get('/f1')!.needs, []); // nothing confirmed anywhere yet: b has never been told
  assert.equal(w.get('/f4')!.here, 'full');
  assert.equal(w.get('/f4')!.pinned, true);
  assert.equal(w.get('/mine')!.here, 'full');

  for (const f of ['f1', 'f2', 'f3']) assert.equal((await b.ok(`sha256sum <mnt/${f} | cut -c1-64`)).trim(), sums[f]);
  w = await whereis(b, 'mnt');
  // f1 went (all of it, or as much as made room); pinned f4 and unique mine stayed.
  assert.notEqual(w.get('/f1')!.here, 'full');
  assert.deepEqual(['f2', 'f3', 'f4', 'mine'].map((f) => w.get(`/${f}`)!.here), ['full', 'full', 'full', 'full']);
  const f1 = w.get('/f1')!;
  assert.deepEqual(f1.needs, [`peer:${a.key}`]);
  assert.ok(f1.stores.some((s) => s.store === `peer:${a.key}` && s.kept));
  const s = await cacheStats(b);
  assert.ok(s.used <= s.budget, JSON.stringify(s));
  assert.ok(s.pinned >= 4 * MiB && s.notElsewhere >= 2 * MiB, JSON.stringify(s));
  assert.match(await b.ok('bazil whereis mnt/f1'), /make one of these available: peer /);

  // Lowering the budget below what must stay evicts every evictable object, and nothing else.
  await b.ok('bazil cache set-size 1M');
  w = await whereis(b, 'mnt');
  assert.deepEqual(['f1', 'f2', 'f3', 'f4', 'mine'].map((f) => w.get(`/${f}`)!.here), ['none', 'none', 'none', 'full', 'full']);
  assert.equal((await b.ok('sha256sum <mnt/f4 | cut -c1-64')).trim(), sums.f4);

  // With a gone, a read of evicted content fails, and b's log names the store to bring back.
  // (b restarts first, so that no memory of its still holds f2.)
  await a.ok('bazil server stop');
  await b.ok('bazil server stop');
  await b.start();
  await eventually(async () => (await b.sh('test -f mnt/f2')).code === 0, 10_000, 'b mounts v again');
  const r = await b.sh('cat mnt/f2 >/dev/null');
  assert.notEqual(r.code, 0);
  assert.match(b.server!.stderr(), new RegExp(`make one of these available: peer:${a.key}`));
});

test('a pinned directory, grown by a sync, stays readable with its only peer stopped', { skip }, async (t) => {
  const [a, b] = await pair(t);
  const sums = await filesFrom(a, b, { 'd/x': 3 * MiB, 'd/y': 1 * MiB + 5, z: 2 * MiB });
  await b.ok('bazil pin mnt/d');
  const more = await filesFrom(a, b, { 'd/later': 2 * MiB + 1 });
  await eventually(
    async () => {
      const [p] = JSON.parse(await b.ok('bazil pin list --json'));
      return p.path === '/d' && p.state === 'complete' && p.files === 3 && p.bytes === p.total && p.total === 6 * MiB + 6;
    },
    20_000,
    'the pin holds all three files',
  );
  await a.ok('bazil server stop');
  for (const [f, sum] of Object.entries({ ...sums, ...more })) {
    if (f === 'z') continue;
    assert.equal((await b.ok(`sha256sum <mnt/${f} | cut -c1-64`)).trim(), sum, f);
  }
  // What is not pinned cannot be read now, and whereis says which store to bring back.
  const r = await b.sh('cat mnt/z >/dev/null');
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /Input\/output error|Permission denied/);
  const w = (await whereis(b, 'mnt/z')).get('/z')!;
  assert.equal(w.here, 'none');
  assert.deepEqual(w.needs, []); // never fetched: b knows no holder yet, and says so
});

test('the writer evicts its copy once a peer says it keeps it (pinned there), and reads it back from there', { skip }, async (t) => {
  const [a, b] = await pair(t);
  const sums = await filesFrom(a, b, { f: 6 * MiB, g: 1 * MiB });
  await b.ok('bazil pin mnt/f');
  await eventually(async () => /complete/.test(await b.ok('bazil pin list')), 20_000, 'the pin is complete');
  // a is over its new budget: it asks b, which keeps f (pinned) but never fetched g.
  await a.ok('bazil cache set-size 1M');
  await eventually(async () => (await whereis(a, 'mnt/f')).get('/f')!.here === 'none', 20_000, 'a evicts f');
  const w = await whereis(a, 'mnt');
  assert.deepEqual(w.get('/f')!.stores.map((s) => [s.store, s.kept]), [[`peer:${b.key}`, true]]);
  assert.equal(w.get('/g')!.here, 'full');
  assert.deepEqual(w.get('/g')!.stores, []);
  const s = await cacheStats(a);
  assert.ok(s.notElsewhere >= 1 * MiB && s.evictable === 0, JSON.stringify(s));
  assert.equal((await a.ok('sha256sum <mnt/f | cut -c1-64')).trim(), sums.f);

  // b unpins f: it told a it keeps f, so a's word from before (a sent it) no longer lets b's copy go.
  // Over its own budget, b asks a, learns a no longer has it, and keeps the last copy.
  await b.ok('bazil unpin mnt/f && bazil cache set-size 1M');
  await eventually(async () => !(await whereis(b, 'mnt/f')).get('/f')!.stores.some((s) => s.kept), 40_000, 'b learns a no longer keeps f');
  assert.equal((await whereis(b, 'mnt/f')).get('/f')!.here, 'full');
  assert.equal((await b.ok('sha256sum <mnt/f | cut -c1-64')).trim(), sums.f);
});
