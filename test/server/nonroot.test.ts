/**
 * A user who is not root mounts, uses, unmounts and stops: libfuse mounts
 * through the setuid fusermount3, and unmounting must go through it too
 * (umount2 is refused to such a user). Run as uid 65534 when the tests run
 * as root, on a machine whose /dev/fuse other users may open.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { BAZIL, tempDir } from '../helpers.js';
import { fuseUnavailable } from '../fuse/mount-helpers.js';

const NOBODY = 65534;

function skipReason(): string | false {
  const fuse = fuseUnavailable();
  if (fuse) return fuse;
  if (process.getuid?.() !== 0) return 'the tests do not run as root, so they cannot act as another user';
  if ((statSync('/dev/fuse').mode & 0o006) !== 0o006) return '/dev/fuse is not open to other users on this machine (its mode is not 0666)';
  if (spawnSync('fusermount3', ['-V']).status !== 0) return 'fusermount3 is not installed (run scripts/system-deps.sh)';
  return false;
}

test('a user who is not root mounts a volume, writes and reads, unmounts and stops the server', { skip: skipReason() }, (t) => {
  const root = tempDir(t, 'bz-nonroot-');
  chmodSync(root, 0o755);
  chownSync(root, NOBODY, NOBODY);
  const script = [
    `b() { "${process.execPath}" "${BAZIL}" -data-dir=${join(root, 'data')} "$@"; }`,
    'set -e',
    'b create >/dev/null',
    'b server start -addr=127.0.0.1:0 >/dev/null',
    'b volume create v >/dev/null',
    'mkdir mnt && b volume mount v mnt',
    'echo hello >mnt/f && cat mnt/f',
    'b volume unmount mnt',
    'b server stop',
  ].join('\n');
  t.after(() => void spawnSync('fusermount3', ['-uz', join(root, 'mnt')]));
  const r = spawnSync('setpriv', [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', 'bash', '-c', script], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, HOME: root, BAZIL_DATA_DIR: '' },
    timeout: 60_000,
  });
  assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
  assert.match(r.stdout, /^Mounted v on .*\nhello\nUnmounted v from .*\nStopped the bazil server\.\n$/);
});
