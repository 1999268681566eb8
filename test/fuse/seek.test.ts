/**
 * lseek's SEEK_DATA and SEEK_HOLE through a real mount, used by other
 * processes: tools that look for holes (cp --sparse, tar -S) skip them instead
 * of reading a terabyte of zeros (issue 10).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { fuseUnavailable, mountedVolume } from './mount-helpers.js';

const skip = fuseUnavailable();
const T = 2 ** 40;
const G3 = 3 * 2 ** 30;
const B = 2 ** 39 + 12345;

/**
 * A python3 script that prints a file's data extents as "start end" lines, as
 * SEEK_DATA and SEEK_HOLE find them from 0, and what each says past the end.
 * With WRITE=1 it first writes a byte at 2^38 and lists before closing.
 */
const EXTENTS = `
import errno, os, sys
fd = os.open(sys.argv[1], os.O_RDWR if os.environ.get('WRITE') else os.O_RDONLY)
if os.environ.get('WRITE'):
    os.pwrite(fd, b'W', 2**38)
off = 0
while True:
    try:
        start = os.lseek(fd, off, os.SEEK_DATA)
    except OSError as e:
        assert e.errno == errno.ENXIO, e
        break
    off = os.lseek(fd, start, os.SEEK_HOLE)
    print(start, off)
size = os.fstat(fd).st_size
for whence in (os.SEEK_DATA, os.SEEK_HOLE):
    try:
        os.lseek(fd, size, whence)
        print('no ENXIO')
    except OSError as e:
        print(errno.errorcode[e.errno])
`;

const extents = (...ranges: [number, number][]) => ranges.map(([s, e]) => `${s} ${e}\n`).join('') + 'ENXIO\nENXIO\n';

describe('SEEK_DATA and SEEK_HOLE through a mount', { skip }, () => {
  test('a 1 TiB sparse file written at a few offsets: its extents are found, and cp --sparse=always and tar -S skip its holes', async (t) => {
    const v = await mountedVolume(t);
    await v.ok(`cat >../extents.py <<'EOF'\n${EXTENTS}\nEOF`);
    await v.ok(`
      truncate -s 1T s
      head -c 1048576 /dev/urandom >../block
      printf A | dd of=s bs=1 seek=0 conv=notrunc status=none
      dd if=../block of=s bs=1M seek=3072 conv=notrunc status=none
      printf B | dd of=s bs=1 seek=${B} conv=notrunc status=none
      printf C | dd of=s bs=1 seek=$((2**40 - 1)) conv=notrunc status=none`);
    const written = extents([0, 1], [G3, G3 + 2 ** 20], [B, B + 1], [T - 1, T]);
    assert.equal(await v.ok('python3 ../extents.py s'), written);
    // A file of holes only has no data; an empty one has neither.
    assert.equal(await v.ok('truncate -s 1T holes && python3 ../extents.py holes'), extents());
    assert.equal(await v.ok(': >empty && python3 ../extents.py empty'), extents());
    // The copies: a generous timeout turns a read of the whole terabyte into a failure, not a hang.
    await v.ok(`
      timeout 300 cp --sparse=always s s.copy
      test $(stat -c %s s.copy) = ${T}
      test "$(dd if=s.copy bs=1 skip=0 count=1 status=none)" = A
      dd if=s.copy bs=1M skip=3072 count=1 status=none | cmp - ../block
      test "$(dd if=s.copy bs=1 skip=${B} count=1 status=none)" = B
      test "$(tail -c 1 s.copy)" = C
      test $(stat -c %b s.copy) -lt 4096
      timeout 300 tar -cSf ../s.tar s
      test $(stat -c %s ../s.tar) -lt $((4 * 2**20))`);
    assert.equal(await v.ok('python3 ../extents.py s.copy'), written);
    // An open file's uncommitted write is data too, amid the committed content.
    assert.equal(await v.ok('WRITE=1 python3 ../extents.py s'), extents([0, 1], [G3, G3 + 2 ** 20], [2 ** 38, 2 ** 38 + 1], [B, B + 1], [T - 1, T]));
    // A snapshot's file has the holes it had.
    await v.ok('mkdir .snap/one');
    assert.equal(await v.ok('python3 ../extents.py .snap/one/s.copy'), written);
  });
});
