/**
 * File names as bytes: a name is whatever bytes a program gave (any but '/'
 * and NUL), UTF-8 or not, and is listed, opened, renamed and removed as those
 * bytes, also after the server restarted (the database keeps them).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { fuseUnavailable, mountedVolume } from './mount-helpers.js';

const skip = fuseUnavailable();

/** A Python script run in the mount: names are bytes there, and errors show their errno. */
const py = (body: string) => `python3 - <<'EOF'\nimport errno, os\n${body}\nEOF`;

/** Names that are not UTF-8 (and one that is, but has a newline), as Python bytes literals. */
const BAD = String.raw`[b'caf\xe9.txt', b'caf\xe8.txt', b'\xff\xfe', b'\xc3\x28', b'\xed\xa0\x80', b'\xc0\xaf', b'\xe9' * 255, b'new\nline']`;

describe('file names on a mounted volume', { skip }, () => {
  test('names that are not UTF-8 work in every operation and keep their bytes, also after a restart', async (t) => {
    const v = await mountedVolume(t);
    await v.ok('echo keep >ok.txt && mkdir d && ln -s ok.txt link && echo utf8 >café.txt');
    // Latin-1 'café' and 'cafè': before, both became caf\uFFFD.txt, one file; then they were refused.
    const out = await v.ok(
      py(`
bad = ${BAD}
for name in bad:
  with open(name, 'wb') as f: f.write(name)
  assert os.stat(name).st_size == len(name), name
  os.chmod(name, 0o600)
  os.utime(name, (1, 1))
  assert os.stat(name).st_mtime == 1, name
  os.rename(name, b'd/' + name)
  with open(b'd/' + name, 'rb') as f: assert f.read() == name, name
  os.rename(b'd/' + name, name)
  os.symlink(name, b'to-' + name[:250])
  assert os.readlink(b'to-' + name[:250]) == name, name
  os.mkdir(b'd/' + name)
  os.link(b'ok.txt', b'd/L' + name[:200])
  assert os.stat(b'd/L' + name[:200]).st_ino == os.stat(b'ok.txt').st_ino, name
  os.unlink(b'd/L' + name[:200])
for name in bad:
  with open(name, 'rb') as f: assert f.read() == name, name
  assert os.readlink(b'to-' + name[:250]) == name, name
assert sorted(os.listdir(b'.')) == sorted([b'd', b'link', b'ok.txt', 'café.txt'.encode()] + bad + [b'to-' + n[:250] for n in bad]), os.listdir(b'.')
assert sorted(os.listdir(b'd')) == sorted(bad), os.listdir(b'd')
try:
  open(b'\\xe9' * 256, 'w')
  print('stored a 256-byte name')
except OSError as e:
  print(errno.errorcode[e.errno])
`),
    );
    assert.equal(out, 'ENAMETOOLONG\n');
    // Other tools see the same bytes: the shell's $'..', find -print0 and od.
    await v.ok("touch $'\\xe9t\\xe9' && mv $'\\xe9t\\xe9' $'\\xe9t\\xe8'");
    const bytes = (dir: string) => v.ok(`find ${dir} -mindepth 1 -maxdepth 1 -printf '%P\\0' | sort -z | od -An -v -tx1 | tr -s ' \\n' ' '`);
    const before = await bytes('.');
    assert.match(before, / e9 74 e8 00 /);
    assert.match(before, / 63 61 66 e9 2e 74 78 74 00 /); // caf\xe9.txt
    assert.match(before, / 63 61 66 e8 2e 74 78 74 00 /); // caf\xe8.txt, another file
    assert.match(before, / 63 61 66 c3 a9 2e 74 78 74 00 /); // café.txt, a third
    assert.match(before, / 6e 65 77 0a 6c 69 6e 65 00 /); // new\nline
    await v.cli('server', 'stop');
    await v.restart();
    assert.equal(await bytes('.'), before);
    // A snapshot keeps the same bytes, and its links' targets.
    await v.ok('mkdir .snap/one');
    assert.equal(await bytes('.snap/one'), before);
    assert.equal(await v.ok("readlink .snap/one/$'to-\\xff\\xfe' | od -An -tx1"), ' ff fe 0a\n');
    const again = await v.ok(
      py(`
bad = ${BAD}
for name in bad:
  with open(name, 'rb') as f: assert f.read() == name, name
  os.rmdir(b'd/' + name)
  os.unlink(name)
  os.unlink(b'to-' + name[:250])
print(sorted(os.listdir(b'.')), os.listdir(b'd'))
`),
    );
    assert.equal(again, "[b'caf\\xc3\\xa9.txt', b'd', b'link', b'ok.txt', b'\\xe9t\\xe8'] []\n");
    assert.equal(await v.ok('cat ok.txt && readlink link'), 'keep\nok.txt\n');
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
        VALUES (${volume}, ${root}, CAST('${name}' AS BLOB), 1, 420, ${body.length}, 1000, 1000, CAST('${body.trimEnd()}' || char(10) AS BLOB))"`);
    }
    await v.restart();
    assert.equal(await v.ok('ls'), 'caf\u{fffd}.txt\n\u{fffd}\u{fffd}\n');
    assert.equal(await v.ok("cat 'caf\u{fffd}.txt'"), 'old one\n');
    await v.ok("mv 'caf\u{fffd}.txt' café.txt && cat café.txt && rm '\u{fffd}\u{fffd}'");
    assert.equal(await v.ok('ls'), 'café.txt\n');
  });
});
