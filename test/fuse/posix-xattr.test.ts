/**
 * Extended attributes through a real mount (issue 18): user.* is stored per
 * inode with setxattr(2)'s rules; other namespaces are not supported; the
 * tools that copy them (setfattr/getfattr, cp --preserve=xattr, rsync -X) work.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { makeHost, shareVolume, type Host } from '../sync/hosts.js';
import { fuseUnavailable, mountedVolume } from './mount-helpers.js';

const skip = fuseUnavailable() || (spawnSync('setfattr', ['--version']).status !== 0 && 'setfattr is not installed (scripts/system-deps.sh --test installs attr)');

/** Each call's errno (or OK), from another process: the rules of setxattr(2), getxattr(2) and removexattr(2). */
const ERRNOS = `
import ctypes, errno, os
libc = ctypes.CDLL(None, use_errno=True)
def code(rc):
    return 'OK' if rc >= 0 else errno.errorcode[ctypes.get_errno()]
def set_(name, value, flags=0):
    return code(libc.setxattr(b'f', name, value, len(value), flags))
out = []
out.append(set_(b'user.a', b'one', os.XATTR_CREATE))
out.append(set_(b'user.a', b'two', os.XATTR_CREATE))
out.append(set_(b'user.b', b'x', os.XATTR_REPLACE))
out.append(set_(b'user.a', b'three', os.XATTR_REPLACE))
buf = ctypes.create_string_buffer(64)
out.append(str(libc.getxattr(b'f', b'user.a', None, 0)))
out.append(code(libc.getxattr(b'f', b'user.a', buf, 2)))
n = libc.getxattr(b'f', b'user.a', buf, 64); out.append(buf.raw[:n].decode())
out.append(code(libc.getxattr(b'f', b'user.none', buf, 64)))
out.append(code(libc.removexattr(b'f', b'user.none')))
out.append(set_(b'security.x', b'1'))
out.append(set_(b'trusted.x', b'1'))
out.append(code(libc.getxattr(b'f', b'security.capability', buf, 64)))
out.append(set_(b'user.big', b'v' * 65536))
out.append(set_(b'user.huge', b'v' * 65537))
out.append(','.join(set_(b'user.fill%d' % i, b'w' * 65536) for i in range(4)))
out.append(str(libc.listxattr(b'f', None, 0)))
out.append(code(libc.listxattr(b'f', buf, 4)))
print(' '.join(out))
`;

describe('extended attributes through a mount', { skip }, () => {
  test('user.* follows setxattr(2): CREATE/REPLACE, ENODATA, ERANGE, E2BIG, a bound per inode; other namespaces ENOTSUP', async (t) => {
    const v = await mountedVolume(t);
    await v.ok('echo hi >f');
    const out = await v.ok(`python3 -c "${ERRNOS.replace(/"/g, '\\"')}"`);
    assert.equal(
      out.trim(),
      [
        'OK EEXIST ENODATA OK', // create, create again, replace a missing one, replace
        '5 ERANGE three ENODATA ENODATA', // the size asked, too small a buffer, the value, a missing one, removing it
        'ENOTSUP ENOTSUP ENODATA', // other namespaces
        'OK E2BIG', // 64 KiB is the largest value (the kernel refuses more)
        'OK,OK,ENOSPC,ENOSPC', // 256 KiB of names and values per inode (user.big holds 64 KiB of it)
        // user.a user.big user.fill0 user.fill1: each name with its NUL
        `${7 + 9 + 2 * 11} ERANGE`,
      ].join(' '),
    );
    // What the tools see, and ctime moves with a change (not with a read).
    const ctime = await v.ok('stat -c %Z.%z f');
    await v.ok('sleep 1.1; setfattr -n user.tool -v "a value" f && setfattr -x user.big f');
    assert.notEqual(await v.ok('stat -c %Z.%z f'), ctime);
    assert.equal(await v.ok('getfattr --only-values -n user.tool f'), 'a value');
    assert.match(await v.ok('getfattr -d f'), /user\.a="three"\nuser\.fill0=.*\nuser\.fill1=.*\nuser\.tool="a value"\n/);
    // Kept across a restart; gone with the file (a new file of the same inode number has none).
    await v.cli('server', 'stop');
    await v.server.exited;
    await v.restart();
    assert.equal(await v.ok('getfattr --only-values -n user.tool f'), 'a value');
    await v.ok('mkdir d && setfattr -n user.on-dir -v 1 d && getfattr -n user.on-dir d >/dev/null');
    // Snapshots keep them.
    await v.ok('mkdir .snap/s && setfattr -x user.tool f');
    assert.equal(await v.ok('getfattr --only-values -n user.tool .snap/s/f'), 'a value');
    assert.equal(await v.ok('getfattr --only-values -n user.on-dir .snap/s/d'), '1');
    await v.ok('rm f && touch f && test -z "$(getfattr -d f)"');
  });

  test('cp --preserve=xattr and rsync -X copy them; a second rsync -X finds nothing to do', async (t) => {
    const v = await mountedVolume(t);
    await v.ok(`
      mkdir -p ../src/sub && cd ../src
      echo one >a && echo two >sub/b && printf '' >empty
      setfattr -n user.mime -v text/plain a && setfattr -n user.bin -v 0sAAECAwQ= sub/b && setfattr -n user.k -v "" empty
      setfattr -n user.dir -v yes sub`);
    // Every entry's attributes, in name order (directories list in different orders).
    const attrs = 'attrs() { (cd "$1" && find . -mindepth 1 | sort | while read -r f; do getfattr -h -d "$f"; done); }';
    await v.ok(`${attrs}; cp -r --preserve=xattr ../src cp && diff <(attrs ../src) <(attrs cp) && test -n "$(attrs cp)"`);
    await v.ok(`${attrs}; rsync -aX ../src/ rs/ && diff <(attrs ../src) <(attrs rs)`);
    assert.equal(await v.ok('rsync -n -i -aX ../src/ rs/'), '');
    assert.equal(await v.ok('cp -a ../src cpa && rsync -n -i -aX ../src/ cpa/'), '');
  });

  test('they sync: set, changed and removed on one peer, the other has the same', async (t) => {
    const a = await makeHost(t, 'a');
    const b = await makeHost(t, 'b');
    await shareVolume([a, b], 'v', ['--manual-sync']);
    const sync = (to: Host, from: Host) => to.ok(`bazil volume sync v ${from.key}`);
    const dump = (h: Host) => h.ok('cd mnt && for f in f g; do getfattr -d $f; done');
    await a.ok('cd mnt && echo x >f && echo y >g && setfattr -n user.one -v 1 f && setfattr -n user.bin -v 0xff00ff f && setfattr -n user.g -v g g');
    await sync(b, a);
    assert.match(await dump(b), /user\.bin=0s\/wD\/\nuser\.one="1"/);
    assert.equal(await dump(b), await dump(a));
    // A change of attributes alone is a change of the file.
    await b.ok('cd mnt && setfattr -x user.one f && setfattr -n user.g -v changed g');
    await sync(a, b);
    assert.equal(await dump(a), await dump(b));
    assert.equal(await a.ok('cd mnt && getfattr --only-values -n user.g g && cat f'), 'changedx\n');
    assert.equal(await a.ok('bazil conflicts list'), '');
  });
});
