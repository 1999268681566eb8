/**
 * Special files through a real mount (issue 18): FIFOs, UNIX sockets,
 * devices and regular files made by mknod(2); they sync as metadata-only
 * entries.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { makeHost, shareVolume } from '../sync/hosts.js';
import { fuseUnavailable, mountedVolume } from './mount-helpers.js';

const skip = fuseUnavailable();
const root = process.getuid?.() === 0;

/** A server bound to a UNIX socket in the mount and a client in another process: what the client hears. */
const SOCKET = `
python3 - <<'EOF' &
import socket
s = socket.socket(socket.AF_UNIX)
s.bind('sock')
s.listen()
a, _ = s.accept()
a.sendall(b'hello over the socket')
a.close()
EOF
while ! test -S sock; do sleep 0.01; done
python3 -c "import socket; c = socket.socket(socket.AF_UNIX); c.connect('sock'); print(c.recv(100).decode())"
wait`;

describe('special files through a mount', { skip }, () => {
  test('a FIFO carries bytes from a writer to a reader; a UNIX socket binds and connects; mknod makes regular files and devices', async (t) => {
    const v = await mountedVolume(t);
    await v.ok('mkfifo -m 640 p && (cat p >../out &) && echo "through the fifo" >p && sleep 0.2');
    assert.equal(await v.ok('cat ../out'), 'through the fifo\n');
    assert.equal(await v.ok(SOCKET), 'hello over the socket\n');
    await v.ok('python3 -c "import os, stat; os.mknod(\'reg\', 0o600 | stat.S_IFREG)" && echo x >>reg');
    if (root) await v.ok('mknod -m 666 nul c 1 3 && mknod blk b 7 0');
    const kinds = 'stat -c "%n %F %a %h %s" p sock reg && ls -l p sock | cut -c1';
    const expected = 'p fifo 640 1 0\nsock socket 755 1 0\nreg regular file 600 1 2\np\ns\n';
    assert.equal(await v.ok(kinds), expected);
    if (root) {
      assert.equal(await v.ok('stat -c "%n %F %t:%T" nul blk'), 'nul character special file 1:3\nblk block special file 7:0\n');
      // The mount is nodev: a device file is a name, never a way into the device.
      assert.match((await v.sh('cat nul')).stderr, /Permission denied/);
    }
    // Kept across a restart; hard links and renames work on them; rm removes them.
    await v.cli('server', 'stop');
    await v.server.exited;
    await v.restart();
    assert.equal(await v.ok(kinds), expected);
    // Snapshots keep them.
    assert.equal(await v.ok('mkdir .snap/s && stat -c "%n %F %a" .snap/s/p .snap/s/sock'), '.snap/s/p fifo 640\n.snap/s/sock socket 755\n');
    await v.ok('ln p p2 && test "$(stat -c %h p)" = 2 && mv sock sock2 && rm p p2 sock2 reg && test -z "$(ls | grep -v -x -e nul -e blk)"');
  });

  test('tar with a FIFO extracts into the mount and compares equal; special files sync as entries without content', async (t) => {
    const a = await makeHost(t, 'a');
    const b = await makeHost(t, 'b');
    await shareVolume([a, b], 'v', ['--manual-sync']);
    await a.ok('mkdir -p src/d && mkfifo src/d/fifo && echo f >src/file && tar cf t.tar -C src . && mkdir mnt/x && tar xf t.tar -C mnt/x && tar --compare -f t.tar -C mnt/x');
    await a.ok(`cd mnt && mkfifo -m 600 fifo && python3 -c "import socket; socket.socket(socket.AF_UNIX).bind('sock')"${root ? ' && mknod -m 660 tty c 5 0' : ''}`);
    await b.ok(`bazil volume sync v ${a.key}`);
    const listing = `cd mnt && stat -c "%n %F %a" fifo sock x/d/fifo${root ? ' && stat -c "%n %t:%T" tty' : ''}`;
    assert.equal(await b.ok(listing), await a.ok(listing));
    assert.match(await b.ok(listing), /^fifo fifo 600\nsock socket 755\n/);
    // A FIFO that came by sync works as one.
    await b.ok('cd mnt && (cat fifo >../out &) && echo synced >fifo && sleep 0.2 && test "$(cat ../out)" = synced');
    await b.ok('rm mnt/fifo');
    await a.ok(`bazil volume sync v ${b.key}`);
    assert.equal((await a.sh('test -e mnt/fifo')).code, 1);
  });
});
