/**
 * File content through a real mount, used by other processes: no byte a file
 * does not hold ever reaches a reader (issue 9), and sparse or huge files are
 * holes, not hours of zeros (issue 10).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { DataDir } from '../../src/engine/datadir.js';
import { EMPTY_MANIFEST, encodeNode } from '../../src/engine/store/manifest.js';
import { fuseUnavailable, mountedVolume, type Volume } from './mount-helpers.js';

const skip = fuseUnavailable();

/** Stops the server (it unmounts), runs fn on its data dir, and starts it again. */
async function offline(v: Volume, fn: (dir: DataDir) => void): Promise<void> {
  await v.cli('server', 'stop');
  await v.server.exited;
  const dir = DataDir.open(v.dataDir, { write: true });
  try {
    fn(dir);
  } finally {
    dir.close();
  }
  await v.restart();
}

describe('file content through a mount', { skip }, () => {
  test('a file whose listed size is larger than its content reads as its content; a 1-byte write commits zeros, not heap', async (t) => {
    const v = await mountedVolume(t);
    await v.ok('printf hello >inline && head -c 100000 /dev/urandom >short && cp short ../short.ref && : >empty');
    // Another file's bytes, read through the server just before: what stale buffers would hold.
    await v.ok('head -c 4000000 /dev/zero | tr "\\0" S >secret');
    // What a bad listing from a peer would leave in the tree: 8 MiB claimed, less (or nothing) held.
    await offline(v, (dir) => {
      const set = dir.db.prepare('UPDATE nodes SET size = ?, manifest = coalesce(?, manifest), data = CASE WHEN ? THEN NULL ELSE data END WHERE name = CAST(? AS BLOB)');
      set.run(8 << 20, null, 0, 'inline');
      set.run(8 << 20, null, 0, 'short');
      set.run(8 << 20, encodeNode(EMPTY_MANIFEST), 1, 'empty');
    });
    // Whatever size they are shown, readers get the content's bytes and zeros, never other memory.
    await v.ok(`
      cat secret >/dev/null
      printf hello >../inline.ref && : >../empty.ref
      for f in short empty inline; do
        n=$(stat -c %s ../$f.ref); size=$(stat -c %s $f)
        head -c $n $f | cmp - ../$f.ref >&2
        tail -c +$((n + 1)) $f | cmp - <(head -c $((size - n)) /dev/zero) >&2
      done`);
    // And the size they are shown is the content's: 8 MiB of zeros would be a lie too.
    assert.equal(await v.ok('stat -c "%n %s" inline short empty'), 'inline 5\nshort 100000\nempty 0\n');
    await v.ok('test "$(cat inline)" = hello && cmp short ../short.ref && cmp empty /dev/null');
    assert.equal(await v.ok('dd if=empty bs=1M count=8 status=none | wc -c'), '0\n');
    // One byte written far past the end, then closed: the gap is zeros.
    await v.ok('for f in inline short empty; do printf x | dd of=$f bs=1 seek=5000000 conv=notrunc status=none; done');
    const check = `
      for f in inline short empty; do test $(stat -c %s $f) = 5000001; test "$(tail -c 1 $f)" = x; done
      test "$(head -c 5 inline)" = hello && head -c 100000 short | cmp - ../short.ref
      tail -c +6 inline | head -c 4999995 | cmp - <(head -c 4999995 /dev/zero)
      tail -c +100001 short | head -c 4900000 | cmp - <(head -c 4900000 /dev/zero)
      head -c 5000000 empty | cmp - <(head -c 5000000 /dev/zero)`;
    await v.ok(check);
    // What was committed, read after a restart (no kernel cache): the same.
    await offline(v, () => {});
    await v.ok(check);
  });

  test('a 1 TiB sparse file: created, written at a few offsets, read back; st_blocks counts only what was written', async (t) => {
    const v = await mountedVolume(t);
    const T = 2 ** 40;
    await v.ok('truncate -s 1T s');
    assert.equal(await v.ok('stat -c "%s %b" s'), `${T} 0\n`);
    await v.ok('head -c 1048576 /dev/urandom >../block');
    const writes = `
      printf A | dd of=s bs=1 seek=0 conv=notrunc status=none
      dd if=../block of=s bs=1M seek=3072 conv=notrunc status=none
      printf B | dd of=s bs=1 seek=$((2**39 + 12345)) conv=notrunc status=none
      printf C | dd of=s bs=1 seek=$((2**40 - 1)) conv=notrunc status=none`;
    await v.ok(writes);
    const check = `
      test $(stat -c %s s) = ${T}
      test "$(dd if=s bs=1 skip=0 count=1 status=none)" = A
      test "$(dd if=s bs=1 skip=$((2**39 + 12345)) count=1 status=none)" = B
      test "$(tail -c 1 s)" = C
      dd if=s bs=1M skip=3072 count=1 status=none | cmp - ../block
      dd if=s bs=1M skip=100000 count=4 status=none | cmp - <(head -c 4194304 /dev/zero)
      stat -c %b s`;
    const blocks = Number(await v.ok(check));
    assert.ok(blocks > 2048 && blocks < 4096, `st_blocks ${blocks} for 1 MiB and 3 bytes written`);
    await offline(v, () => {});
    assert.equal(Number(await v.ok(check)), blocks);
    // Copying it is seek.test.ts's (cp finds the holes with SEEK_DATA/SEEK_HOLE). A file whose
    // zeros were written as data, not left as holes, is copied with holes too: cp finds the zeros.
    await v.ok(`
      truncate -s 256M m && dd if=../block of=m bs=1M seek=100 conv=notrunc status=none
      cp --sparse=always m m.copy && cmp m m.copy
      test $(stat -c %b m.copy) -lt 4096`);
  });

  test('sizes past 8 TiB are refused with EFBIG (File too large)', async (t) => {
    const v = await mountedVolume(t);
    const r = await v.sh('truncate -s 9T big');
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /File too large/);
    const w = await v.sh('printf x | dd of=big bs=1 seek=$((2**43)) conv=notrunc status=none');
    assert.notEqual(w.code, 0);
    assert.match(w.stderr, /File too large/);
    await v.ok('truncate -s 8T big && test $(stat -c %s big) = $((2**43)) && truncate -s 0 big');
  });

  test('growth and shrink loops (as stress-ng fsize) finish, and the server stops in the middle of one', async (t) => {
    const v = await mountedVolume(t);
    const loop = (n: number, f: string) => `
      for i in $(seq 1 ${n}); do
        truncate -s $(( (i * 7919 % 1000 + 1) * 2**30 )) ${f}
        printf x | dd of=${f} bs=1 seek=$(( i * 104729 % 2**30 )) conv=notrunc status=none
        truncate -s $(( i * 4099 )) ${f}
        head -c 100000 /dev/urandom | dd of=${f} bs=100000 seek=$(( i % 50 + 1 )) conv=notrunc status=none
      done`;
    await v.ok(loop(30, 'f'));
    // In a process of its own, from outside the mount (so that it does not keep the mount busy).
    const child = spawn('bash', ['-c', loop(100000, `${v.mnt}/f`)], { cwd: '/', stdio: 'ignore' });
    t.after(() => void (child.exitCode === null && child.kill('SIGKILL')));
    await v.ok('sleep 2');
    const stop = await v.cli('server', 'stop');
    assert.match(stop, /Stopped/);
    const { code, signal } = await v.server.exited;
    assert.equal(code, 0, `the server exited with ${code ?? signal}:\n${v.server.stdout()}${v.server.stderr()}`);
    child.kill('SIGKILL');
  });
});
