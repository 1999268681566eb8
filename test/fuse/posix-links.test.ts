/**
 * Hard links through a real mount (issue 18): one inode, several names;
 * st_nlink and ctime right, content shared, any name removable, the inode
 * gone with its last name; tar archives with hard links extract and compare.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { makeHost, shareVolume, type Host } from '../sync/hosts.js';
import { fuseUnavailable, mountedVolume } from './mount-helpers.js';

const skip = fuseUnavailable();

describe('hard links through a mount', { skip }, () => {
  test('ln makes one inode with several names; each name can go; the content is shared', async (t) => {
    const v = await mountedVolume(t);
    await v.ok('echo one >f && mkdir d');
    const before = await v.ok('stat -c %z f');
    await v.ok('sleep 0.05 && ln f g && ln f d/h');
    assert.equal(await v.ok('stat -c "%h %i" f g d/h | sort -u | wc -l'), '1\n');
    assert.equal(await v.ok('stat -c %h f'), '3\n');
    assert.notEqual(await v.ok('stat -c %z f'), before, 'link(2) changes ctime');
    assert.equal((await v.sh('ln f g')).code, 1, 'EEXIST');
    assert.match((await v.sh('ln d d2')).stderr, /hard link not allowed for directory/);
    // Written through one name, read through the others.
    await v.ok('echo two >>g && test "$(cat d/h)" = "$(printf "one\\ntwo")" && cmp f g');
    // Any name may go; the rest keep the content. rename(2) between two names of one inode does nothing.
    await v.ok('rm f && test "$(stat -c %h g)" = 2 && cmp g d/h && ! test -e f');
    await v.ok('python3 -c "import os; os.rename(\'g\', \'d/h\')" && test -e g && test -e d/h');
    await v.ok('mv g d/k && test "$(stat -c %h d/k)" = 2 && rmdir d 2>/dev/null; test -d d');
    // An open file outlives its last name: its reader reads on.
    await v.ok('rm d/h && test "$(stat -c %h d/k)" = 1 && exec 3<d/k && rm d/k && test "$(cat <&3)" = "$(printf "one\\ntwo")" && rmdir d');
    // Kept across a restart.
    await v.ok('echo x >a && ln a b');
    await v.cli('server', 'stop');
    await v.server.exited;
    await v.restart();
    assert.equal(await v.ok('stat -c %h a b && ls'), '2\n2\na\nb\n');
  });

  test('tar with hard links extracts into the mount and compares equal', async (t) => {
    const v = await mountedVolume(t);
    await v.ok(`
      mkdir -p ../src/sub && cd ../src
      head -c 100000 /dev/urandom >big && echo small >small
      ln big sub/big2 && ln small sub/small2 && ln small small3
      tar cf ../t.tar .`);
    await v.ok('mkdir x && tar xf ../t.tar -C x && tar --compare -f ../t.tar -C x');
    assert.equal(await v.ok('cd x && stat -c "%h %n" big sub/big2 small small3 sub/small2'), '2 big\n2 sub/big2\n3 small\n3 small3\n3 sub/small2\n');
    assert.equal(await v.ok('cd x && stat -c %i big sub/big2 | uniq | wc -l'), '1\n');
  });

  test('links sync as separate files: each name arrives with its content; a local change reaches every name, a change from a peer detaches the name', async (t) => {
    const a = await makeHost(t, 'a');
    const b = await makeHost(t, 'b');
    await shareVolume([a, b], 'v', ['--manual-sync']);
    const sync = (to: Host, from: Host) => to.ok(`bazil volume sync v ${from.key}`);
    await a.ok('cd mnt && echo one >f && mkdir d && ln f d/g && head -c 300000 /dev/urandom >big && ln big d/big2');
    await sync(b, a);
    assert.equal(await b.ok('cd mnt && cat f d/g && stat -c %h f d/g && cmp big d/big2 && echo same'), 'one\none\n1\n1\nsame\n');
    // Changed through one name on a: both names are new on b.
    await a.ok('cd mnt && echo two >>d/g');
    await sync(b, a);
    assert.equal(await b.ok('cd mnt && cat f && cat d/g'), 'one\ntwo\none\ntwo\n');
    // b removes one name and edits the other: a keeps one name, with b's content.
    await b.ok('cd mnt && rm d/g && echo three >f');
    await sync(a, b);
    assert.equal(await a.ok('cd mnt && ls d && cat f && stat -c %h f'), 'big2\nthree\n1\n');
    // b edits one of two names a still links: on b they are two files, so on a that name becomes a file of its own.
    await b.ok('cd mnt && echo changed >big');
    await sync(a, b);
    assert.equal(await a.ok('cd mnt && cat big && stat -c %h big d/big2'), 'changed\n1\n1\n');
    await sync(b, a);
    const sums = 'cd mnt && md5sum big d/big2 f';
    assert.equal(await a.ok(sums), await b.ok(sums));
    await sync(a, b);
    assert.equal(await a.ok('bazil conflicts list'), '');
  });
});
