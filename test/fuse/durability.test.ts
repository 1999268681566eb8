/** What a mounted volume keeps: across unmount, server restart, kill -9 after fsync, and in snapshots. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { bazil } from '../helpers.js';
import { fuseUnavailable, mountedVolume, sh } from './mount-helpers.js';

const skip = fuseUnavailable();

/** Files of several sizes (inline, one chunk, many chunks) with their checksums. */
const WRITE = `
  mkdir -p a/b && echo small >a/b/s && head -c 300000 /dev/urandom >a/mid && head -c 9000000 /dev/urandom >big
  ln -s a/b/s link && chmod 600 a/mid
  sha256sum a/b/s a/mid big >../sums`;
const checkIn = (sums: string) => `sha256sum -c --quiet ${sums} && test "$(readlink link)" = a/b/s && test "$(stat -c %a a/mid)" = 600`;
const CHECK = checkIn('../sums');

describe('persistence and snapshots', { skip }, () => {
  test('data survives unmount, server stop and restart', async (t) => {
    const v = await mountedVolume(t);
    await v.ok(WRITE);
    await v.cli('volume', 'unmount', 'v');
    assert.deepEqual(readdirSync(v.mnt), []); // really unmounted
    await v.cli('volume', 'mount', 'v', v.mnt);
    await v.ok(CHECK);
    await v.cli('server', 'stop');
    await v.restart();
    await v.ok(CHECK);
    assert.match(await v.cli('volume', 'list'), new RegExp(`^v\\tsharing=default\\tmounted=${v.mnt}$`, 'm'));
  });

  test('after kill -9 of the server, what was fsync\'d is intact and the volume mounts again', async (t) => {
    const v = await mountedVolume(t);
    await v.ok(`${WRITE}\nsync a/b/s a/mid big`);
    // A file still open for writing, fsync'd part way: the fsync'd bytes survive.
    await v.ok('exec 3>open; head -c 5000000 /dev/urandom >&3; sync open; cp open ../open.synced; exec 3>&-');
    v.server.child.kill('SIGKILL');
    await v.server.exited;
    // The kernel mount is dead until a server takes it again.
    assert.notEqual((await sh(`ls ${v.mnt}`, dirname(v.mnt))).code, 0);
    await v.restart();
    await v.ok(`${CHECK} && cmp open ../open.synced`);
    await v.ok('echo after >after && cat after');
  });

  test('snapshots keep the old tree, are read-only and restore with cp', async (t) => {
    const v = await mountedVolume(t);
    await v.ok(WRITE);
    assert.match(await v.cli('volume', 'snapshot', 'v', 'one'), /one/);
    await v.ok('mkdir .snap/two');
    await v.ok('echo changed >a/b/s && rm big && rm -r a/b && head -c 100 /dev/zero >>a/mid && echo new >new');
    assert.equal(await v.ok('ls .snap'), 'one\ntwo\n');
    for (const snap of ['one', 'two']) {
      await v.ok(`cd .snap/${snap} && ${checkIn('../../../sums')} && test ! -e new`);
    }
    const list = await v.cli('volume', 'snapshot', 'list', 'v');
    assert.match(list, /^one\b/m);
    assert.match(list, /^two\b/m);
    for (const [script, message] of [
      ['echo x >.snap/one/new', /Read-only file system/],
      ['echo x >>.snap/one/a/b/s', /Read-only file system/],
      ['rm .snap/one/big', /Read-only file system/],
      ['mkdir .snap/one/d', /Read-only file system/],
      ['mv new .snap/one/', /Read-only file system/],
      ['touch .snap/one/big', /Read-only file system/],
      ['mkdir .snap/one', /File exists/],
      ['ls .snap/missing', /No such file or directory/],
    ] as const) {
      const r = await v.sh(script);
      assert.notEqual(r.code, 0, script);
      assert.match(r.stderr, message, script);
    }
    // Restore a deleted file with cp; the snapshot is unchanged after everything above.
    await v.ok('cp .snap/one/big big && mkdir -p a/b && cp -p .snap/one/a/b/s a/b/s && cp .snap/one/a/mid a/mid && sha256sum -c --quiet ../sums');
    await v.ok('cd .snap/one && sha256sum -c --quiet ../../../sums');
    const again = await bazil([`-data-dir=${v.dataDir}`, 'volume', 'snapshot', 'v', 'one']);
    assert.equal(again.code, 4, again.stderr);
    assert.match(again.stderr, /already exists/);
  });

  test('mounting onto a missing directory or an unknown volume fails clearly and changes nothing', async (t) => {
    const v = await mountedVolume(t);
    await v.ok(WRITE);
    const missing = await bazil([`-data-dir=${v.dataDir}`, 'volume', 'mount', 'v', join(v.mnt, '..', 'nope')]);
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /does not exist/);
    const unknown = await bazil([`-data-dir=${v.dataDir}`, 'volume', 'mount', 'nosuch', join(v.mnt, '..')]);
    assert.equal(unknown.code, 3, unknown.stderr);
    assert.match(unknown.stderr, /no volume named "nosuch"/);
    const twice = await bazil([`-data-dir=${v.dataDir}`, 'volume', 'mount', 'v', join(v.mnt, '..')]);
    assert.equal(twice.code, 4, twice.stderr);
    assert.match(twice.stderr, /already mounted/);
    await v.ok(CHECK);
  });
});
