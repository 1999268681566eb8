/**
 * Names as bytes through sync: two real servers with real mounts. Files whose
 * names are not UTF-8 (and a symlink whose target is not) are made with shell
 * tools on one side and arrive with the same bytes on the other; a conflict
 * on such a name is listed with the name escaped (\xNN), resolved by that
 * spelling, and its copy NAME.conflict-PEER.EXT keeps the original bytes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fuseUnavailable } from '../fuse/mount-helpers.js';
import { makeHost, shareVolume, type Host } from './hosts.js';

const skip = fuseUnavailable();

const sync = (to: Host, from: Host) => to.ok(`bazil volume sync v ${from.key}`);

/** Every path under mnt with its type, and a file's content hash or a link's target, as hex bytes (NUL-separated). */
const snapshot = (h: Host) =>
  h.ok(`cd mnt && find . -mindepth 1 -printf '%y %p %l\\0' | sort -z | od -An -v -tx1 | tr -s ' \\n' ' ' && find . -type f -print0 | sort -z | xargs -0 md5sum | od -An -v -tx1 | md5sum`);

test('names that are not UTF-8 sync with their bytes; a conflict on one is shown escaped and resolved by that spelling', { skip }, async (t) => {
  const a = await makeHost(t, 'a');
  const b = await makeHost(t, 'b');
  await shareVolume([a, b], 'v', ['--manual-sync']);
  await a.ok(`cd mnt && python3 - <<'EOF'
import os
names = [b'caf\\xe9.txt', b'caf\\xe8.txt', b'\\xff\\xfe', b'new\\nline', b'\\xe9' * 255]
os.mkdir(b'd\\xff')
for n in names:
  with open(n, 'wb') as f: f.write(n)
  with open(b'd\\xff/' + n[:200], 'wb') as f: f.write(b'in d: ' + n)
os.symlink(b'caf\\xe9.txt', b'link\\xe9')
os.symlink(b'\\xfe\\xfd/nowhere', b'dangling')
EOF`);
  await sync(b, a);
  assert.equal(await snapshot(b), await snapshot(a));
  // caf\xe9.txt holds its own name; the link to it reads the same.
  assert.equal(await b.ok("cat mnt/$'caf\\xe9.txt' mnt/$'link\\xe9' | od -An -tx1"), ' 63 61 66 e9 2e 74 78 74 63 61 66 e9 2e 74 78 74\n');
  assert.equal(await b.ok('readlink mnt/dangling | od -An -tx1'), ' fe fd 2f 6e 6f 77 68 65 72 65 0a\n');

  // Renames and deletions of such names go back the other way.
  await b.ok("cd mnt && mv $'\\xff\\xfe' $'\\xfe\\xff' && rm $'caf\\xe8.txt' && mv $'d\\xff' $'d\\xfe'");
  await sync(a, b);
  assert.equal(await snapshot(a), await snapshot(b));
  assert.equal(await a.ok("od -An -tx1 mnt/$'\\xfe\\xff'"), ' ff fe\n');
  assert.equal((await a.sh("ls mnt/$'caf\\xe8.txt'")).code, 2);

  // Both sides change caf\xe9.txt: a conflict, listed with the name escaped.
  await sync(b, a);
  await a.ok("echo 'a edit' >mnt/$'caf\\xe9.txt'");
  await b.ok("echo 'b edit' >mnt/$'caf\\xe9.txt'");
  assert.match(await sync(b, a), /1 conflicts/);
  const listed = await b.ok('bazil conflicts list');
  assert.ok(listed.startsWith(`${b.mnt}/caf\\xe9.txt\tpeer=${a.key}\ttheirs=file, 7 bytes`), listed);
  assert.equal(listed.split('\n').length, 2, listed);
  // JSON carries the name as the engine keeps it: \udce9 is the byte 0xe9 (Python's os.fsencode reads it so).
  assert.equal(JSON.parse(await b.ok('bazil conflicts list --json'))[0].path, '/caf\udce9.txt');
  assert.match(await b.ok('bazil conflicts list --json'), /"path": "\/caf\\udce9\.txt"/);
  const resolved = await b.ok("bazil conflicts resolve 'mnt/caf\\xe9.txt' --both");
  const copy = `caf\\xe9.conflict-${a.key.slice(0, 8)}.txt`;
  assert.equal(resolved, `Resolved ${b.mnt}/caf\\xe9.txt (both); theirs is at ${b.mnt}/${copy}.\n`);
  await sync(a, b);
  for (const h of [a, b]) {
    assert.equal(await h.ok(`cat mnt/$'caf\\xe9.txt' mnt/$'${copy}'`), 'b edit\na edit\n', `${h.name} has the resolution, under the original bytes`);
  }
  assert.equal(await b.ok('bazil conflicts list'), '');
});
