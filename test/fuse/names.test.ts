/**
 * File names as bytes: a name that is not UTF-8 cannot be kept exactly (the
 * binding hands names over as strings), so the mount refuses it with EILSEQ
 * rather than store a mangled one; UTF-8 names are kept byte for byte.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { fuseUnavailable, mountedVolume } from './mount-helpers.js';

const skip = fuseUnavailable();

/** A Python script run in the mount: names are bytes there, and errors show their errno. */
const py = (body: string) => `python3 - <<'EOF'\nimport errno, os\n${body}\nEOF`;

describe('file names on a mounted volume', { skip }, () => {
  test('names that are not UTF-8 are refused with EILSEQ in every operation, and nothing is stored', async (t) => {
    const v = await mountedVolume(t);
    await v.ok('echo keep >ok.txt && mkdir d && ln -s ok.txt link');
    // Latin-1 'café' and 'cafè': before, both became caf\uFFFD.txt, one file.
    const out = await v.ok(
      py(`
bad = [b'caf\\xe9.txt', b'caf\\xe8.txt', b'd/\\xff', b'\\xc3\\x28', b'\\xed\\xa0\\x80', b'\\xc0\\xaf', b'\\xe9' * 255]
ops = {
  'create': lambda n: open(n, 'w'),
  'stat': os.stat,
  'mkdir': os.mkdir,
  'rename to': lambda n: os.rename(b'ok.txt', n),
  'rename from': lambda n: os.rename(n, b'other'),
  'symlink name': lambda n: os.symlink(b'ok.txt', n),
  'symlink target': lambda n: os.symlink(n, b'newlink'),
  'link': lambda n: os.link(b'ok.txt', n),
  'unlink': os.unlink,
  'rmdir': os.rmdir,
  'chmod': lambda n: os.chmod(n, 0o600),
  'utime': lambda n: os.utime(n, (1, 1)),
}
for name in bad:
  for op, fn in ops.items():
    try:
      fn(name)
      print('stored', op, name)
    except OSError as e:
      if e.errno != errno.EILSEQ: print(op, name, e)
print(sorted(os.listdir(b'.')), os.listdir(b'd'))
`),
    );
    assert.equal(out, "[b'd', b'link', b'ok.txt'] []\n");
    assert.equal(await v.ok('cat ok.txt && readlink link'), 'keep\nok.txt\n');
    // What the shell user sees.
    const r = await v.sh("touch $'caf\\xe9.txt'");
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /Invalid or incomplete multibyte or wide character/);
  });

  test('UTF-8 names are kept byte for byte, up to 255 bytes', async (t) => {
    const v = await mountedVolume(t);
    const out = await v.ok(
      py(`
names = ['café.txt', 'cafè.txt', 'é' * 127 + 'a', '日本語' * 28 + 'a', '\\U0001F600' * 63 + 'abc', '\\ufffd']
for n in names:
  b = n.encode()
  assert len(b) <= 255, (n, len(b))
  with open(b, 'wb') as f: f.write(b)
for n in names:
  with open(n.encode(), 'rb') as f: assert f.read() == n.encode(), n
assert sorted(os.listdir(b'.')) == sorted(n.encode() for n in names), os.listdir(b'.')
print(max(len(n.encode()) for n in names))
try:
  open(('é' * 128).encode(), 'w')
  print('stored a 256-byte name')
except OSError as e:
  print(errno.errorcode[e.errno])
`),
    );
    assert.equal(out, '255\nENAMETOOLONG\n');
  });

  test('an entry stored earlier with U+FFFD in its name is listed, read, renamed and removed', async (t) => {
    const v = await mountedVolume(t);
    await v.cli('server', 'stop');
    // As the mount stored 'caf\xe9.txt' before names were checked.
    const db = `${v.dataDir}/bazil.db`;
    const volume = `(SELECT id FROM volumes WHERE name = 'v')`;
    const root = `(SELECT ino FROM nodes WHERE volume = ${volume} AND parent = ino)`;
    for (const [name, body] of [
      ['caf\u{fffd}.txt', 'old one\n'],
      ['\u{fffd}\u{fffd}', 'two\n'],
    ]) {
      await v.ok(`sqlite3 ${db} "INSERT INTO nodes (volume, parent, name, kind, mode, size, mtime, ctime, data)
        VALUES (${volume}, ${root}, '${name}', 1, 420, ${body.length}, 1000, 1000, CAST('${body.trimEnd()}' || char(10) AS BLOB))"`);
    }
    await v.restart();
    assert.equal(await v.ok('ls'), 'caf\u{fffd}.txt\n\u{fffd}\u{fffd}\n');
    assert.equal(await v.ok("cat 'caf\u{fffd}.txt'"), 'old one\n');
    await v.ok("mv 'caf\u{fffd}.txt' café.txt && cat café.txt && rm '\u{fffd}\u{fffd}'");
    assert.equal(await v.ok('ls'), 'café.txt\n');
  });
});
