/**
 * Times on a mounted volume as everyday tools set and check them: tar and
 * rsync verify their own copies, touch and cp -p are compared with stat, to
 * the nanosecond.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { makeHost, shareVolume } from '../sync/hosts.js';
import { fuseUnavailable, mountedVolume } from './mount-helpers.js';

const skip = fuseUnavailable();
// Times as tools print them, the same whatever the machine's zone (the shell tools inherit it).
process.env.TZ = 'UTC';

/**
 * A tree beside the mount (../src) whose files, directories and symbolic links
 * have varied modification and access times, some with nanoseconds.
 */
const SOURCE_TREE = `
  mkdir -p ../src/a/b ../src/c && cd ../src
  for i in $(seq 1 40); do
    d=$([ $((i % 3)) = 0 ] && echo a/b || ([ $((i % 3)) = 1 ] && echo c || echo a))
    head -c $((i * 997)) /dev/urandom >$d/f$i
    touch -m -d "20$((10 + i % 14))-0$((1 + i % 9))-1$((i % 10)) 0$((i % 10)):1$((i % 6)):2$((i % 10)).$((i * 123456789 % 1000000000))" $d/f$i
    touch -a -d "2023-0$((1 + i % 9))-2$((i % 8)) 12:34:56.$((i * 7))" $d/f$i
  done
  head -c 300000 /dev/urandom >a/big && touch -d '1999-12-31 23:59:59.999999999' a/big
  ln -s ../c/f1 a/link && touch -h -d '2005-06-07 08:09:10.5' a/link
  touch -d '2012-01-01 00:00:00.000000001' a/b c a .`;

describe('times on a mounted volume', { skip }, () => {
  test('tar -x of a tree with varied times, then tar --compare reports nothing (gnu and posix formats)', async (t) => {
    const v = await mountedVolume(t);
    await v.ok(SOURCE_TREE);
    for (const format of ['gnu', 'posix']) {
      // posix (pax) archives keep nanoseconds; gnu ones whole seconds.
      await v.ok(`tar -C ../src --format=${format} -cf ../${format}.tar . && mkdir ${format} && tar -C ${format} -xf ../${format}.tar`);
      const r = await v.sh(`tar -C ${format} -df ../${format}.tar`);
      assert.equal(r.stdout + r.stderr, '', `tar --compare (${format})`);
      assert.equal(r.code, 0);
    }
    // And the times are exactly the source's: files, directories, the symbolic link.
    const times = 'find . | sort | xargs -d "\\n" stat -c "%n %y %F"';
    assert.equal(await v.ok(`cd posix && ${times}`), await v.ok(`cd ../src && ${times}`));
  });

  test('rsync -a into the mount, then rsync -a -n -i finds nothing to transfer', async (t) => {
    const v = await mountedVolume(t);
    await v.ok(SOURCE_TREE);
    await v.ok('rsync -a ../src/ copy/');
    assert.equal(await v.ok('rsync -a -n -i ../src/ copy/'), '');
    assert.equal(await v.ok('rsync -a -n -i --checksum ../src/ copy/'), '');
  });

  test('touch -m -d, touch -a -d and cp -p set exactly the times stat shows; the other time is left alone', async (t) => {
    const v = await mountedVolume(t);
    const stamp = (f: string) => v.ok(`stat -c '%x|%y' ${f}`);
    await v.ok("echo x >f && touch -d '2010-10-10 10:10:10.101010101' f");
    assert.equal(await stamp('f'), '2010-10-10 10:10:10.101010101 +0000|2010-10-10 10:10:10.101010101 +0000\n');
    // Only mtime (atime is UTIME_OMIT), then only atime (mtime is UTIME_OMIT).
    await v.ok("touch -m -d '2001-02-03 04:05:06.123456789' f");
    assert.equal(await stamp('f'), '2010-10-10 10:10:10.101010101 +0000|2001-02-03 04:05:06.123456789 +0000\n');
    await v.ok("touch -a -d '1990-07-08 09:10:11.987654321' f");
    assert.equal(await stamp('f'), '1990-07-08 09:10:11.987654321 +0000|2001-02-03 04:05:06.123456789 +0000\n');
    // UTIME_NOW for mtime only: atime stays.
    const start = Number(await v.ok('date +%s'));
    await v.ok('touch -m f');
    const [atime, mtime] = (await v.ok("stat -c '%x|%Y' f")).trim().split('|');
    assert.equal(atime, '1990-07-08 09:10:11.987654321 +0000');
    assert.ok(Number(mtime) >= start, `touch -m set mtime ${mtime}, before the test's ${start}`);
    // Times before 1970 too.
    await v.ok("touch -d '1960-01-02 03:04:05.5' f");
    assert.equal(await stamp('f'), '1960-01-02 03:04:05.500000000 +0000|1960-01-02 03:04:05.500000000 +0000\n');

    // cp -p from outside the mount: the times the source had when copied.
    await v.ok("echo data >../src && touch -m -d '2015-05-05 05:05:05.555555555' ../src && touch -a -d '2016-06-06 06:06:06.666666666' ../src");
    const source = await stamp('../src');
    await v.ok('cp -p ../src copied');
    assert.equal(await stamp('copied'), source);
    // And into an open file: cp -p sets the times before it closes the copy.
    await v.ok('head -c 200000 /dev/urandom >../big && touch -d "2003-03-03 03:03:03.333333333" ../big');
    const big = await stamp('../big');
    await v.ok('cp -p ../big big');
    assert.equal(await stamp('big'), big);

    // The times are stored, not only cached: after a restart they read the same.
    await v.cli('server', 'stop');
    await v.restart();
    assert.equal(await stamp('copied'), source);
    assert.equal(await stamp('big'), big);
  });

  test('modification times sync to a peer with their nanoseconds: tar --compare there reports nothing', async (t) => {
    const a = await makeHost(t, 'a');
    const b = await makeHost(t, 'b');
    await shareVolume([a, b], 'v', ['--manual-sync']);
    await a.ok(`cd mnt && ${SOURCE_TREE}`); // the tree is made in a/src, beside a's mount
    await a.ok('tar -C src --format=posix -cf tree.tar . && mkdir mnt/x && tar -C mnt/x -xf tree.tar');
    await b.ok(`bazil volume sync v ${a.key}`);
    const r = await b.sh(`tar -C mnt/x -df ${a.root}/tree.tar`);
    assert.equal(r.stdout + r.stderr, '', 'tar --compare on the peer');
    const times = 'find . | sort | xargs -d "\\n" stat -c "%n %y"';
    assert.equal(await b.ok(`cd mnt/x && ${times}`), await a.ok(`cd src && ${times}`));
  });
});
