/**
 * The one validator of what a peer sends (engine/sync/validate.ts): a page of
 * a real listing passes, and each bad value, put into it one at a time, is
 * refused as CORRUPT naming what was wrong; request params likewise.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { EMPTY } from '../../../src/engine/clock/vector.js';
import { isBazilError } from '../../../src/engine/errors.js';
import { encodeNode } from '../../../src/engine/store/manifest.js';
import { listPage } from '../../../src/engine/sync/listing.js';
import type { WireEntry, WirePage } from '../../../src/engine/sync/wire.js';
import { cursorParam, dirParam, flagParam, hexParam, MAX_SNAPSHOTS, readPage, readSnapshots, readVolumeInfo, volumeNameParam, type PageContext } from '../../../src/engine/sync/validate.js';
import type { WireSnapshots } from '../../../src/engine/sync/snapshots.js';
import { Rep } from './harness.js';

/** A root listing of a, as b receives it: one entry of each kind, a file with a manifest, a tombstone. */
function setup(t: Parameters<typeof Rep.make>[0]): { page: WirePage; ctx: PageContext; a: Rep } {
  const a = Rep.make(t, 'a');
  const b = Rep.make(t, 'b');
  a.write('/small', 'hello');
  a.tree.xattrs.set(a.tree.resolve('/small').ino, Buffer.from('user.empty'), Buffer.alloc(0), 'either'); // a good one, with an empty value
  a.mkdir('/dir');
  a.tree.create(a.tree.root, 'link', 'symlink', 0o777, 'small');
  const big = a.tree.create(a.tree.root, 'big', 'file', 0o644);
  a.tree.setContent(big.ino, { size: 300_000, manifest: encodeNode({ level: 0, entries: [{ h: randomBytes(32), span: 300_000 }] }) }, Date.now());
  a.write('/gone', 'x');
  a.rm('/gone');
  const page = JSON.parse(JSON.stringify(listPage(a.tree, a.replicas, null, null))) as WirePage;
  return { page, ctx: { replicas: b.replicas, peer: a.key.toString('hex'), root: true, after: null, base: EMPTY }, a };
}

const entry = (page: WirePage, name: string): WireEntry => page.entries.find((e) => e.name === name)!;
const b64 = (s: string) => Buffer.from(s).toString('base64');

/** Each: what it does to a good page, and what the refusal says. */
const BAD: [string, (p: WirePage) => void, RegExp][] = [
  ['not an object', (p) => Object.assign(p, { entries: 'x' }), /no entries/],
  ['no directory inode', (p) => Object.assign(p, { ino: -1 }), /no directory inode/],
  ['no replicas', (p) => (p.replicas = []), /replica list/],
  ['a replica that is not a key', (p) => p.replicas.push('zz'), /64 lowercase hex/],
  ['a replica twice', (p) => p.replicas.push(p.replicas[0]), /replica named twice/],
  ['a list not led by the sender', (p) => p.replicas.unshift(randomBytes(32).toString('hex')), /does not begin with the sender/],
  ['too many replicas', (p) => p.replicas.push(...Array.from({ length: 5000 }, () => randomBytes(32).toString('hex'))), /replica list/],
  ['an epoch above 2^32-1', (p) => (entry(p, 'small').m = [[0, 2 ** 32]]), /epoch 4294967296/],
  ['a negative epoch', (p) => (entry(p, 'small').c = [[0, -1]]), /epoch -1/],
  ['a fractional epoch', (p) => (p.s = [[0, 1.5]]), /epoch 1.5/],
  ['a replica index out of range', (p) => (entry(p, 'small').m = [[7, 1]]), /bad replica index/],
  ['a replica index twice', (p) => (entry(p, 'small').m = [[0, 1], [0, 2]]), /replica/],
  ['a vector that is not pairs', (p) => (entry(p, 'small').s = [[0]] as never), /not a list of pairs/],
  ['.snap at the root', (p) => (entry(p, 'small').name = '.snap'), /"\.snap" at the root/],
  ['a name of 256 bytes', (p) => (entry(p, 'small').name = 'x'.repeat(256)), /a name of 256 bytes/],
  ['a tombstone name of 256 bytes', (p) => (entry(p, 'gone').name = 'é'.repeat(128)), /a name of 256 bytes/],
  ['a name with a slash', (p) => (entry(p, 'small').name = 'a/b'), /the name "a\/b"/],
  ['a name ..', (p) => (entry(p, 'small').name = '..'), /the name "\.\."/],
  ['an empty name', (p) => (entry(p, 'gone').name = ''), /the name ""/],
  ['a name with NUL', (p) => (entry(p, 'small').name = 'a\0'), /the name/],
  // Names are bytes, sent as the engine's one string of them (names.ts): any other string is refused.
  ['a name with a lone surrogate that is no byte', (p) => (entry(p, 'small').name = 'sm\ud800'), /the name "sm.*", which is not the one spelling of its bytes/],
  ['a name spelling UTF-8 as escaped bytes', (p) => (entry(p, 'small').name = 'sm\udcc3\udca9'), /the name "sm\\xc3\\xa9", which is not the one spelling/],
  ['a name of 256 bytes that are not UTF-8', (p) => (entry(p, 'small').name = '\udce9'.repeat(256)), /a name of 256 bytes/],
  ['a name twice', (p) => (entry(p, 'small').name = 'link'), /out of name order, or twice/],
  ['names out of order', (p) => p.entries.reverse(), /out of name order/],
  ['an unknown kind', (p) => (entry(p, 'small').kind = 'door' as never), /unknown kind/],
  // Special files are entries without content; only a device has a number.
  ['content on a fifo', (p) => Object.assign(entry(p, 'small'), { kind: 'fifo', xattrs: undefined }), /content on a fifo/],
  ['a size on a socket', (p) => Object.assign(entry(p, 'small'), { kind: 'socket', data: undefined, xattrs: undefined }), /a size of \d+ bytes on a socket/],
  ['a device number on a fifo', (p) => Object.assign(entry(p, 'small'), { kind: 'fifo', data: undefined, xattrs: undefined, size: 0, rdev: 5 }), /device number on a fifo/],
  // Extended attributes: user.* names in order, values and totals within one inode's bounds.
  ['extended attributes on a symlink', (p) => (entry(p, 'link').xattrs = [[b64('user.a'), b64('1')]]), /extended attributes on a symlink/],
  ['an extended attribute outside user.*', (p) => (entry(p, 'small').xattrs = [[b64('security.a'), b64('1')]]), /extended attributes that are not/],
  ['extended attributes out of order', (p) => (entry(p, 'small').xattrs = [[b64('user.b'), ''], [b64('user.a'), '']]), /extended attributes that are not/],
  ['an extended attribute value over 64 KiB', (p) => (entry(p, 'small').xattrs = [[b64('user.a'), Buffer.alloc(65537).toString('base64')]]), /extended attributes that are not/],
  ['extended attributes over 256 KiB', (p) => (entry(p, 'small').xattrs = [0, 1, 2, 3].map((i) => [b64(`user.${i}`), Buffer.alloc(65536).toString('base64')])), /extended attributes that are not/],
  ['a device number that is not whole', (p) => Object.assign(entry(p, 'small'), { kind: 'chardev', data: undefined, xattrs: undefined, size: 0, rdev: -1 }), /device number that is not/],
  ['a mode over 07777', (p) => (entry(p, 'small').mode = 0o10000), /mode/],
  ['a mode that is not a number', (p) => (entry(p, 'small').mode = '644' as never), /mode/],
  ['an mtime past any date', (p) => (entry(p, 'small').mtime = 1e300), /mtime/],
  ['nanoseconds past a millisecond', (p) => (entry(p, 'small').mtimeNs = 1_000_000), /nanoseconds/],
  ['nanoseconds that are not a number', (p) => (entry(p, 'small').mtimeNs = '5' as unknown as number), /nanoseconds/],
  ['a fractional size', (p) => (entry(p, 'small').size = 4.5), /size/],
  ['a size over the inline data', (p) => (entry(p, 'small').size = 8 << 20), /size of 8388608 bytes with 5 bytes of inline data/],
  ['a size over an empty manifest (issue 9 item 1)', (p) => Object.assign(entry(p, 'small'), { data: undefined, manifest: encodeNode({ level: 0, entries: [] }).toString('base64'), size: 8 << 20 }), /size of 8388608 bytes with a manifest of 0/],
  ['a size under the manifest', (p) => (entry(p, 'big').size = 1), /size of 1 bytes with a manifest of 300000/],
  ['a manifest that is not one', (p) => (entry(p, 'big').manifest = Buffer.from('nope').toString('base64')), /manifest root that does not parse/],
  ['a manifest that is not base64', (p) => (entry(p, 'big').manifest = '!!!!'), /manifest that is not base64/],
  ['both data and a manifest', (p) => (entry(p, 'big').data = ''), /both inline data and a manifest/],
  ['inline data over the inline limit', (p) => Object.assign(entry(p, 'small'), { data: Buffer.alloc(20_000).toString('base64'), size: 20_000 }), /inline data that is not base64/],
  ['a size with no content', (p) => Object.assign(entry(p, 'small'), { data: undefined, size: 3 }), /size of 3 bytes with no content/],
  ['content on a directory', (p) => (entry(p, 'dir').data = 'aGk='), /content on a dir/],
  ['a directory without its inode', (p) => delete entry(p, 'dir').ino, /directory without its inode/],
  ['an inode on a file', (p) => (entry(p, 'small').ino = 5), /inode on a file/],
  ['a symlink target of 4096 bytes', (p) => Object.assign(entry(p, 'link'), { target: 'x'.repeat(4096), size: 4096 }), /symlink target/],
  ['an empty symlink target', (p) => Object.assign(entry(p, 'link'), { target: '', size: 0 }), /symlink target/],
  ['a symlink target spelling UTF-8 as escaped bytes', (p) => Object.assign(entry(p, 'link'), { target: '\udcc3\udca9', size: 2 }), /symlink target/],
  ['a symlink size that counts escaped bytes as UTF-8', (p) => Object.assign(entry(p, 'link'), { target: '\udce9', size: 3 }), /size that is not its target's length/],
  ['a symlink size that is not its target', (p) => (entry(p, 'link').size = 99), /size that is not its target's length/],
  ['a cursor that is not the last name', (p) => (p.next = 'aaa'), /cursor/],
  ['a cursor on an empty page', (p) => Object.assign(p, { entries: [], next: 'x' }), /cursor/],
  ['a cursor that is not the one spelling of a name', (p) => (p.next = 'sm\udcc3\udca9'), /cursor/],
];

test('a listing page from a real tree passes the validator', (t) => {
  const { page, ctx } = setup(t);
  const read = readPage(page, ctx);
  assert.deepEqual(
    read.entries.map((e) => [e.name, e.kind]),
    [
      ['big', 'file'],
      ['dir', 'dir'],
      ['gone', 'deleted'],
      ['link', 'symlink'],
      ['small', 'file'],
    ],
  );
  assert.equal(read.entries.find((e) => e.name === 'big')!.size, 300_000);
});

test('names that are not UTF-8 pass with their bytes, in byte order, and a symlink target too', (t) => {
  const a = Rep.make(t, 'a');
  const b = Rep.make(t, 'b');
  // caf\xe9, \xff, café, and a link whose target is \xfe/x: bytes 63 61 66 c3 a9 < 63 61 66 e9 < 6c < ff.
  for (const name of ['\udcff', 'caf\udce9', 'café']) a.tree.create(a.tree.root, name, 'file', 0o644);
  a.tree.create(a.tree.root, 'link', 'symlink', 0o777, '\udcfe/x');
  const page = JSON.parse(JSON.stringify(listPage(a.tree, a.replicas, null, null))) as WirePage;
  const read = readPage(page, { replicas: b.replicas, peer: a.key.toString('hex'), root: true, after: null, base: EMPTY });
  assert.deepEqual(
    read.entries.map((e) => [e.name, e.target, e.size]),
    [
      ['café', null, 0],
      ['caf\udce9', null, 0],
      ['link', '\udcfe/x', 3],
      ['\udcff', null, 0],
    ],
  );
  assert.equal(cursorParam({ after: 'caf\udce9' }, 'after'), 'caf\udce9');
  assert.deepEqual(dirParam({ dir: { ino: 2, parent: 1, name: '\udcff' } }, 'dir'), { ino: 2, parent: 1, name: '\udcff' });
});

test('every bad value a peer could put in a listing is refused as CORRUPT, naming it', async (t) => {
  for (const [what, spoil, says] of BAD) {
    await t.test(what, (t) => {
      const { page, ctx } = setup(t);
      spoil(page);
      assert.throws(
        () => readPage(page, ctx),
        (err) => isBazilError(err, 'CORRUPT') && says.test(err.message),
        `${what}: expected CORRUPT matching ${says}`,
      );
    });
  }
  // .snap is a name like any other below the root.
  const { page, ctx } = setup(t);
  entry(page, 'small').name = '.snap';
  page.entries.sort((x, y) => Buffer.compare(Buffer.from(x.name), Buffer.from(y.name)));
  assert.doesNotThrow(() => readPage(page, { ...ctx, root: false }));
  // Every name of a page comes after the cursor it was asked with.
  assert.throws(() => readPage(page, { ...ctx, root: false, after: 'zzz' }), /out of name order/);
});

test('every bad request param is refused as INVALID_ARGUMENT, naming it', () => {
  const BAD_PARAMS: [string, () => unknown][] = [
    ['a volume id of 63 hex digits', () => hexParam({ volume: 'a'.repeat(63) }, 'volume')],
    ['a volume id in capitals', () => hexParam({ volume: 'A'.repeat(64) }, 'volume')],
    ['a volume id that is a number', () => hexParam({ volume: 5 }, 'volume')],
    ['no proof', () => hexParam({}, 'proof')],
    ['a volume name with a slash', () => volumeNameParam({ name: 'a/b' }, 'name')],
    ['a volume name of 65 characters', () => volumeNameParam({ name: 'a'.repeat(65) }, 'name')],
    ['a volume name that is an object', () => volumeNameParam({ name: { toString: () => 'v' } }, 'name')],
    ['a flag that is a string', () => flagParam({ forward: 'false' }, 'forward')],
    ['a handle that is a string', () => dirParam({ dir: '/etc' }, 'dir')],
    ['a handle with inode 0', () => dirParam({ dir: { ino: 0, parent: 1, name: 'a' } }, 'dir')],
    ['a handle with a fractional inode', () => dirParam({ dir: { ino: 1.5, parent: 1, name: 'a' } }, 'dir')],
    ['a handle with a name ..', () => dirParam({ dir: { ino: 2, parent: 1, name: '..' } }, 'dir')],
    ['a handle with a long name', () => dirParam({ dir: { ino: 2, parent: 1, name: 'x'.repeat(256) } }, 'dir')],
    ['a handle that is an array', () => dirParam({ dir: [2, 1, 'a'] }, 'dir')],
    ['a cursor with a slash', () => cursorParam({ after: 'a/b' }, 'after')],
    ['a cursor that is a number', () => cursorParam({ after: 7 }, 'after')],
    ['a cursor that is not the one spelling of a name', () => cursorParam({ after: '\udcc3\udca9' }, 'after')],
    ['a handle with a lone surrogate that is no byte', () => dirParam({ dir: { ino: 2, parent: 1, name: '\ud800' } }, 'dir')],
  ];
  for (const [what, read] of BAD_PARAMS) assert.throws(read, (err) => isBazilError(err, 'INVALID_ARGUMENT'), what);
  assert.deepEqual(dirParam({ dir: { ino: 2, parent: 1, name: 'a' } }, 'dir'), { ino: 2, parent: 1, name: 'a' });
  assert.equal(dirParam({}, 'dir'), null);
  assert.equal(cursorParam({ after: 'b' }, 'after'), 'b');
});

test("a peer's answer to volume.info is checked too", () => {
  const good = { volumeId: 'ab'.repeat(32), keyCheck: 'cd'.repeat(32) };
  assert.equal(readVolumeInfo(good).volumeId.length, 32);
  for (const bad of [null, 'x', {}, { ...good, volumeId: 'ab' }, { ...good, keyCheck: 7 }, { ...good, volumeId: 'AB'.repeat(32) }]) {
    assert.throws(() => readVolumeInfo(bad), (err) => isBazilError(err, 'CORRUPT'), JSON.stringify(bad));
  }
});

/** A hostile peer's snapshot listing (sync.snapshots): each bad value refused as CORRUPT, naming it. */
test("a peer's snapshot listing is checked: names, roots, times, counts", () => {
  const root = encodeNode({ level: 0, entries: [{ h: randomBytes(32), span: 120 }] }).toString('base64');
  const good = (): WireSnapshots => ({ snapshots: [{ name: 's1', root, createdAt: Date.now() }], deleted: [{ name: 's0', root, at: Date.now() }] });
  const read = readSnapshots(good());
  assert.deepEqual([read.snapshots[0].name, read.deleted[0].name, read.snapshots[0].root.toString('base64')], ['s1', 's0', root]);
  const BAD_LISTS: [string, (l: WireSnapshots) => void, RegExp][] = [
    ['not an object', (l) => Object.assign(l, { snapshots: 'x' }), /snapshots that are not a list/],
    ['no deletions', (l) => delete (l as Partial<WireSnapshots>).deleted, /deletions that are not a list/],
    ['too many snapshots', (l) => (l.snapshots = Array.from({ length: MAX_SNAPSHOTS + 1 }, (_, i) => ({ name: `s${i}`, root, createdAt: 1 }))), /at most 10000/],
    ['an entry that is not an object', (l) => (l.snapshots = [7 as never]), /not an object/],
    ['a name with a slash', (l) => (l.snapshots[0].name = '../etc'), /snapshot name "..\/etc"/],
    ['a name that is .snap', (l) => (l.snapshots[0].name = '.snap'), /snapshot name/],
    ['a name that is a number', (l) => (l.deleted[0].name = 5 as never), /snapshot name "5"/],
    ['a name of 65 characters', (l) => (l.snapshots[0].name = 'a'.repeat(65)), /snapshot name/],
    ['a name twice', (l) => l.snapshots.push({ ...l.snapshots[0] }), /"s1" twice/],
    ['a root that is not base64', (l) => (l.snapshots[0].root = '!!!!'), /root of "s1" that is not base64/],
    ['a root over 64 KiB', (l) => (l.snapshots[0].root = Buffer.alloc(70_000).toString('base64')), /not base64 of at most 65536/],
    ['a root that is not a manifest', (l) => (l.deleted[0].root = Buffer.from('nope').toString('base64')), /root of "s0" that does not parse/],
    ['a time past any date', (l) => (l.snapshots[0].createdAt = 1e300), /time of "s1"/],
    ['a time that is a string', (l) => (l.deleted[0].at = '1' as never), /time of "s0"/],
  ];
  for (const [what, spoil, says] of BAD_LISTS) {
    const l = good();
    spoil(l);
    assert.throws(() => readSnapshots(l), (err) => isBazilError(err, 'CORRUPT') && says.test(err.message), `${what}: expected CORRUPT matching ${says}`);
  }
  for (const bad of [null, 'x', [], 5]) assert.throws(() => readSnapshots(bad), (err) => isBazilError(err, 'CORRUPT'), JSON.stringify(bad));
});
