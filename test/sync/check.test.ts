/**
 * `bazil check` on real servers with real mounts: a byte flipped in a local
 * object (on disk) is found by --read-data and named by path, --repair
 * replaces the object with a good copy from the peer, and the check is clean
 * after; content no store holds is reported by path.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openSync, readSync, writeSync, closeSync, fstatSync } from 'node:fs';
import { join } from 'node:path';
import { fuseUnavailable } from '../fuse/mount-helpers.js';
import { makeHost, shareVolume } from './hosts.js';

const skip = fuseUnavailable();

/** Flips one byte in the middle of a file, in place. */
function flipByte(path: string): void {
  const fd = openSync(path, 'r+');
  try {
    const at = Math.floor(fstatSync(fd).size / 2);
    const b = Buffer.alloc(1);
    readSync(fd, b, 0, 1, at);
    b[0] ^= 0x40;
    writeSync(fd, b, 0, 1, at);
  } finally {
    closeSync(fd);
  }
}

test('check finds a flipped byte by path, --repair fixes it from a peer, and content known nowhere is reported', { skip, timeout: 120_000 }, async (t) => {
  const a = await makeHost(t, 'a');
  const b = await makeHost(t, 'b');
  await shareVolume([a, b], 'v', ['--manual-sync']);
  await a.ok('mkdir mnt/d && head -c 2000000 /dev/urandom >mnt/d/f');
  const sum = (await a.ok('sha256sum <mnt/d/f | cut -c1-64')).trim();
  await b.ok(`bazil volume sync v ${a.key} && sha256sum <mnt/d/f >/dev/null`); // b holds a copy now
  await a.ok('bazil check --read-data');

  // The largest object a holds is one of f's chunks.
  const biggest = (await a.ok("find data/objects -type f -printf '%s %p\\n' | sort -n | tail -1 | cut -d' ' -f2")).trim();
  flipByte(join(a.root, biggest));
  const bad = await a.sh('bazil check --read-data v');
  assert.notEqual(bad.code, 0, 'problems remain: the exit says so');
  assert.match(bad.stdout, /^v:\/d\/f\tlive\tcorrupt: /m);
  assert.match(bad.stderr, /bazil check --repair/);
  const repaired = await a.sh('bazil check --repair --json v');
  assert.equal(repaired.code, 0, repaired.stderr);
  const r = JSON.parse(repaired.stdout) as { problems: { path: string; repaired?: boolean }[] };
  assert.deepEqual(r.problems.map((p) => [p.path, p.repaired]), [['/d/f', true]]);
  await a.ok('bazil check --read-data v');
  assert.equal((await a.ok('sha256sum <mnt/d/f | cut -c1-64')).trim(), sum);

  // g's content is here only; it goes from a's store (lost), and b never had it: known nowhere.
  await a.ok('sleep 0.05 && touch before-g && sleep 0.05 && head -c 1000000 /dev/urandom >mnt/g');
  await b.ok(`bazil volume sync v ${a.key}`);
  const ids = (await a.ok("find data/objects -type f -newer before-g -printf '%p '")).trim();
  assert.ok(ids.length > 0, "g's chunks are the objects written since");
  // Lost on a's disk; a's server starts again (same address) and knows it lacks it.
  const addr = a.addr();
  await a.ok(`rm ${ids} && bazil server stop`);
  await a.start(`-addr=${addr}`);
  const gone = await b.sh('bazil check v');
  assert.notEqual(gone.code, 0);
  assert.match(gone.stdout, /^v:\/g\tlive\tmissing: object [0-9a-f]{64} is not here, and no store holds it/m);
  assert.doesNotMatch(gone.stdout, /\/d\/f/, 'f is on a: not a problem on b');
});
