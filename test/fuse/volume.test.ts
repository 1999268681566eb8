/**
 * A mounted volume used like a local disk: real kernel mounts served by a real
 * `bazil server run`, driven by shell tools and real programs in other processes.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { mountedVolume, fuseUnavailable } from './mount-helpers.js';

const skip = fuseUnavailable();
const PROJECT = fileURLToPath(new URL('../../..', import.meta.url));

describe('a mounted volume', { skip }, () => {
  test('echo, cat, cp -r, mv, rm -r, ln -s, chmod, touch -d and df', async (t) => {
    const v = await mountedVolume(t);
    assert.equal(await v.ok('echo hello, world >greeting && cat greeting'), 'hello, world\n');
    assert.equal(await v.ok('echo more >>greeting && cat greeting'), 'hello, world\nmore\n');
    await v.ok(`cp -r ${PROJECT}/src tree && diff -r ${PROJECT}/src tree`);
    await v.ok('mv greeting hello && test ! -e greeting && mkdir d && mv hello d/ && cat d/hello >/dev/null');
    await v.ok('mv tree/engine d/engine && test -f d/engine/datadir.ts && test ! -e tree/engine');
    await v.ok('echo new >d/other && mv d/other d/hello && cat d/hello | grep -qx new'); // over an existing file
    await v.ok('mkdir -p e/empty && mv -T d/engine e/empty && test -d e/empty/store'); // over an empty directory
    await v.ok('rm -r tree e && test ! -e tree && test ! -e e');
    assert.equal(await v.ok('ln -s d/hello link && readlink link && cat link'), 'd/hello\nnew\n');
    assert.equal(await v.ok('chmod 640 d/hello && stat -c %a d/hello'), '640\n');
    assert.equal(await v.ok('chmod 750 d && stat -c %a d'), '750\n');
    assert.equal(await v.ok('touch -d "2020-02-03 04:05:06 UTC" d/hello && TZ=UTC stat -c %y d/hello'), '2020-02-03 04:05:06.000000000 +0000\n');
    assert.match(await v.ok('df -P .'), /bazil:v\s+\d+\s+\d+\s+\d+/);
    assert.equal(await v.ok('ls -a'), '.\n..\nd\nlink\n'); // .snap is not listed
  });

  test('sizes, overwrites in place, appends and truncates agree with the same writes to a plain file', async (t) => {
    const v = await mountedVolume(t);
    const ref = `${v.mnt}/../ref`;
    const script = (dst: string) => `
      head -c 20000000 /dev/zero | tr '\\0' a >${dst}
      printf XYZ | dd of=${dst} bs=1 seek=12345678 conv=notrunc status=none
      printf tail >>${dst}
      truncate -s 15000000 ${dst}
      truncate -s 15001000 ${dst}
      printf end >>${dst}
      printf small >${dst}.s && truncate -s 100000 ${dst}.s && printf x | dd of=${dst}.s bs=1 seek=99999 conv=notrunc status=none`;
    await v.ok(script(ref));
    await v.ok(script('f'));
    await v.ok(`cmp f ${ref} && cmp f.s ${ref}.s && test $(stat -c %s f) = 15001003`);
  });

  test('errors: rmdir of a non-empty directory, long names, missing files, directories as files', async (t) => {
    const v = await mountedVolume(t);
    await v.ok('mkdir -p d/sub && echo x >d/f && echo keep >keep');
    const cases: [string, RegExp][] = [
      ['rmdir d', /Directory not empty/],
      [`touch ${'n'.repeat(256)}`, /File name too long/],
      [`mkdir ${'n'.repeat(300)}`, /File name too long/],
      ['cat missing', /No such file or directory/],
      ['mkdir d', /File exists/],
      ['rm d', /Is a directory/],
      ['echo x >d', /Is a directory/],
      ['cat d/f/x', /Not a directory/],
      ['mv -T d d/sub/inside', /subdirectory of itself|Invalid argument/],
      ['mkdir e && mv -T e d', /Directory not empty|File exists/], // d is not empty
      ['ln keep d/f', /File exists/], // link(2) onto a name that exists
    ];
    for (const [script, message] of cases) {
      const r = await v.sh(script);
      assert.notEqual(r.code, 0, script);
      assert.match(r.stderr, message, script);
    }
    await v.ok(`touch ${'n'.repeat(255)}`); // NAME_MAX itself is fine
    assert.equal(await v.ok('cat keep d/f'), 'keep\nx\n');
  });

  test('git init, add and commit of a few hundred files, then git fsck', async (t) => {
    const v = await mountedVolume(t);
    await v.ok(`
      mkdir repo && cd repo && git init -q . && git config user.email t@example.com && git config user.name t
      for d in $(seq 1 10); do mkdir -p dir$d; for f in $(seq 1 30); do echo "file $d $f" >dir$d/f$f.txt; done; done
      git add -A && git commit -qm first
      echo changed >>dir3/f7.txt && git rm -q dir5/f1.txt && git mv dir6 moved && git commit -qam second
      git fsck --full --strict
      test $(git ls-files | wc -l) = 299
      git status --porcelain | wc -l | grep -qx 0
      git log --oneline | wc -l | grep -qx 2`);
  });

  test('tar -x of a real source tree is byte for byte the original', async (t) => {
    const v = await mountedVolume(t);
    // SQLite's amalgamation (a 9 MB file among small ones) and its binding's sources.
    const src = `${PROJECT}/node_modules/better-sqlite3`;
    await v.ok(`mkdir x && tar -C ${src} -cf - deps src lib | tar -C x -xf - && for d in deps src lib; do diff -r ${src}/$d x/$d; done`);
  });

  test('an SQLite database on the mount passes integrity_check', async (t) => {
    const v = await mountedVolume(t);
    const out = await v.ok(`
      sqlite3 db.sqlite "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT, b BLOB);
        WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 5000)
        INSERT INTO t (v, b) SELECT 'row ' || i, randomblob(i % 700) FROM n;"
      for i in $(seq 1 20); do sqlite3 db.sqlite "BEGIN; DELETE FROM t WHERE id % 20 = $i; INSERT INTO t (v) VALUES ('again $i'); COMMIT;"; done
      sqlite3 db.sqlite "PRAGMA integrity_check; SELECT count(*) FROM t;"`);
    assert.equal(out, 'ok\n270\n'); // 5000 rows, 19 × 250 deleted, 20 inserted
  });
});
