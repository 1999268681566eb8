/**
 * fsync's promise, checked at its edge: the server is killed (-9) right after
 * an fsync returned, while the writer still holds the file open and has
 * written more since. After a restart the file is exactly what was fsync'd;
 * files closed before the kill are whole (commit-on-close).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fuseUnavailable, mountedVolume } from './mount-helpers.js';

const skip = fuseUnavailable();

test('kill -9 right after fsync returned: the file is what was fsync\'d, and closed files are whole', { skip }, async (t) => {
  const v = await mountedVolume(t);
  const ready = join(v.mnt, '..', 'ready');
  // Partial pages and a write in the middle too: 3 MB + 123 bytes, then 7 bytes at 5000, fsync'd; then 1 MB more, not.
  const writer = spawn(
    'python3',
    [
      '-c',
      `
import os, sys, time
for i in range(50):
  with open('small-%d' % i, 'w') as f: f.write('file %d\\n' % i)
fd = os.open('f', os.O_WRONLY | os.O_CREAT, 0o644)
synced = os.urandom(3_000_123)
os.write(fd, synced)
os.pwrite(fd, b'MIDDLE!', 5000)
os.fsync(fd)
with open('../synced', 'wb') as f: f.write(synced[:5000] + b'MIDDLE!' + synced[5007:])
os.write(fd, os.urandom(1_000_000))
open('../ready', 'w').close()
time.sleep(60)
`,
    ],
    { cwd: v.mnt, stdio: 'ignore' },
  );
  t.after(() => writer.kill('SIGKILL'));
  const deadline = Date.now() + 30_000;
  while (!existsSync(ready)) {
    assert.ok(Date.now() < deadline, 'the writer fsync-ed within 30 s');
    await new Promise((r) => setTimeout(r, 20));
  }
  v.server.child.kill('SIGKILL');
  await v.server.exited;
  writer.kill('SIGKILL');
  await v.restart();
  await v.ok('cmp f ../synced');
  await v.ok('for i in $(seq 0 49); do test "$(cat small-$i)" = "file $i"; done');
});
