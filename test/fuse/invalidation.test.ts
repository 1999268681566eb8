/**
 * The kernel caches names, attributes and pages of a mount for long; a sync
 * changes the tree underneath it and must drop what it changed. Here a
 * process keeps a directory open and has just looked at a file in it (so the
 * kernel holds its name, size and pages) when the sync lands.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fuseUnavailable } from './mount-helpers.js';
import { makeHost, shareVolume } from '../sync/hosts.js';

const skip = fuseUnavailable();

/** Holds mnt/d open; prints what it sees through that descriptor each time it reads a line. */
const WATCHER = `
import os, sys
fd = os.open('mnt/d', os.O_RDONLY | os.O_DIRECTORY)
def look():
  try:
    st = os.stat('f', dir_fd=fd)
    with open(os.open('f', os.O_RDONLY, dir_fd=fd), 'rb') as f: body = f.read()
    seen = (st.st_size, body.decode(), oct(st.st_mode & 0o777))
  except OSError as e:
    seen = e.strerror
  gone = os.path.exists('mnt/d/gone')
  print(seen, sorted(os.listdir(fd)), gone, flush=True)
for line in sys.stdin:
  look()
`;

test('a change synced in shows at once to a process holding the directory open that has just stat-ed and read the file', { skip }, async (t) => {
  const a = await makeHost(t, 'a');
  const b = await makeHost(t, 'b');
  await shareVolume([a, b], 'v', ['--manual-sync']);
  await a.ok('mkdir mnt/d && echo old >mnt/d/f && echo x >mnt/d/gone');
  await b.ok(`bazil volume sync v ${a.key}`);

  const watcher = spawn('python3', ['-c', WATCHER], { cwd: b.root, stdio: ['pipe', 'pipe', 'inherit'] });
  t.after(() => void watcher.kill());
  const lines: string[] = [];
  watcher.stdout.setEncoding('utf8');
  let partial = '';
  watcher.stdout.on('data', (s: string) => {
    const parts = (partial + s).split('\n');
    partial = parts.pop()!;
    lines.push(...parts);
  });
  const look = async () => {
    const n = lines.length;
    watcher.stdin.write('\n');
    while (lines.length === n) await once(watcher.stdout, 'data');
    return lines[n];
  };
  assert.equal(await look(), "(4, 'old\\n', '0o644') ['f', 'gone'] True");
  // Twice: the second look is answered from the kernel's caches.
  assert.equal(await look(), "(4, 'old\\n', '0o644') ['f', 'gone'] True");

  await a.ok('echo "a longer line than before" >mnt/d/f && chmod 600 mnt/d/f && rm mnt/d/gone && echo new >mnt/d/new');
  await b.ok(`bazil volume sync v ${a.key}`);
  assert.equal(await look(), "(26, 'a longer line than before\\n', '0o600') ['f', 'new'] False");

  // A name deleted and made again as another kind: the kernel must not take the new one for the old.
  await a.ok('rm mnt/d/f && mkdir mnt/d/f');
  await b.ok(`bazil volume sync v ${a.key}`);
  assert.equal(await look(), "Is a directory ['f', 'new'] False");
  watcher.stdin.end();
});
