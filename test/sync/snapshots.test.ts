/**
 * Snapshots on every peer, with real servers and mounts: a snapshot taken on
 * one is browsable at MNT/.snap/NAME on the other (content fetched on demand,
 * checked with sha256sum); deleted on one, it goes on both, and gc then
 * reclaims the content only it held, on both.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fuseUnavailable } from '../fuse/mount-helpers.js';
import { makeHost, shareVolume, type Host } from './hosts.js';

const skip = fuseUnavailable();

const sums = (h: Host, dir: string) => h.ok(`cd ${dir} && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum`);
const sync = (h: Host, from: Host) => h.ok(`bazil volume sync v ${from.key}`);
const gc = async (h: Host): Promise<{ removed: number; removedBytes: number; sparedForPeers: number }> => JSON.parse(await h.ok('bazil gc --json'));

test('a snapshot taken on one peer is browsable on the other; deleted on one, it goes on both and gc reclaims it', { skip, timeout: 120_000 }, async (t) => {
  const a = await makeHost(t, 'a');
  const b = await makeHost(t, 'b');
  await shareVolume([a, b], 'v', ['--manual-sync']);
  await a.ok('mkdir -p mnt/d/e && head -c 3000000 /dev/urandom >mnt/big && head -c 700000 /dev/urandom >mnt/d/e/mid && echo hi >mnt/d/small && ln -s d/small mnt/link');
  await a.ok('bazil volume snapshot v s1');
  const snap = await sums(a, 'mnt/.snap/s1');
  // big changes: its old content is the snapshot's alone.
  await a.ok('head -c 3000000 /dev/urandom >mnt/big');
  await sync(b, a);
  assert.match(await b.ok('bazil volume snapshot list v'), /^s1\t/m);
  assert.equal(await sums(b, 'mnt/.snap/s1'), snap, "b reads the snapshot's files, fetched from a");
  assert.equal((await b.ok('readlink mnt/.snap/s1/link')).trim(), 'd/small');
  assert.equal((await b.ok('ls mnt/.snap')).trim(), 's1');

  // A snapshot taken on b comes to a the same way.
  await b.ok('mkdir mnt/.snap/s2');
  await sync(a, b);
  assert.equal(await sums(a, 'mnt/.snap/s2'), await sums(b, 'mnt/.snap/s2'));

  await a.ok('bazil volume snapshot delete v s1');
  assert.equal((await a.ok('ls mnt/.snap')).trim(), 's2');
  await sync(b, a);
  assert.equal((await b.ok('ls mnt/.snap')).trim(), 's2', 'the deletion reached b');
  await sync(a, b);
  assert.equal((await a.ok('ls mnt/.snap')).trim(), 's2', 'b does not give it back');
  assert.equal((await b.sh('ls mnt/.snap/s1')).code, 2);

  // b fetched the old big to read it; a wrote it (and told b it keeps it: b says it no longer needs it).
  const rb = await gc(b);
  assert.ok(rb.removedBytes >= 2_900_000, `b reclaims the old big: ${JSON.stringify(rb)}`);
  const ra = await gc(a);
  assert.ok(ra.removedBytes >= 2_900_000 && ra.sparedForPeers === 0, `a reclaims the old big: ${JSON.stringify(ra)}`);
  // What is live is untouched, on both.
  assert.equal(await sums(a, 'mnt'), await sums(b, 'mnt'));
  for (const h of [a, b]) await h.ok('bazil check --read-data v');
});
