/**
 * fallocate(2) through a real mount (issue 18): mode 0 grows the file with
 * zeros, PUNCH_HOLE|KEEP_SIZE turns a range into zeros (a hole once
 * committed), other modes are EOPNOTSUPP.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { fuseUnavailable, mountedVolume } from './mount-helpers.js';

const skip = fuseUnavailable();

const M = 1 << 20;
/** Where the first hole at or after 0 starts (SEEK_HOLE), as another process sees it. */
const seekHole = `python3 -c "import os,sys; fd=os.open(sys.argv[1], os.O_RDONLY); print(os.lseek(fd, 0, os.SEEK_HOLE))"`;

describe('fallocate through a mount', { skip }, () => {
  test('mode 0 grows a file with zeros; punching a hole zeros the range and keeps the size; other modes are not supported', async (t) => {
    const v = await mountedVolume(t);
    // Mode 0: a new file of 5 MiB of zeros; a smaller range changes nothing; KEEP_SIZE alone neither.
    await v.ok(`fallocate -l 5M new && test $(stat -c %s new) = ${5 * M} && cmp new <(head -c ${5 * M} /dev/zero)`);
    await v.ok(`fallocate -l 1M new && test $(stat -c %s new) = ${5 * M}`);
    await v.ok(`printf abc >small && fallocate -n -l 10M small && test "$(cat small)" = abc`);
    await v.ok(`fallocate -o 3 -l 5 small && test $(stat -c %s small) = 8 && cmp small <(printf 'abc\\0\\0\\0\\0\\0')`);
    // Punching: a 3 MiB file, and an inline one, each with a hole in the middle (and one past the end: nothing).
    await v.ok(`head -c ${3 * M} /dev/urandom >../big && cp ../big big && head -c 10000 /dev/urandom >../inl && cp ../inl inl`);
    await v.ok(`fallocate -p -o ${M} -l ${M} big && fallocate -p -o 4000 -l 2000 inl && fallocate -p -o ${10 * M} -l ${M} big`);
    const check = `
      test $(stat -c %s big) = ${3 * M} && test $(stat -c %s inl) = 10000
      cmp <(head -c ${M} big) <(head -c ${M} ../big)
      cmp <(tail -c +$((${M} + 1)) big | head -c ${M}) <(head -c ${M} /dev/zero)
      cmp <(tail -c +$((${2 * M} + 1)) big) <(tail -c +$((${2 * M} + 1)) ../big)
      cmp <(head -c 4000 inl) <(head -c 4000 ../inl)
      cmp <(tail -c +4001 inl | head -c 2000) <(head -c 2000 /dev/zero)
      cmp <(tail -c +6001 inl) <(tail -c +6001 ../inl)`;
    await v.ok(check);
    // Committed (after a restart, no kernel cache): the same bytes, and the punched range is a hole.
    await v.cli('server', 'stop');
    await v.server.exited;
    await v.restart();
    await v.ok(check);
    assert.equal(await v.ok(`${seekHole} big`), `${M}\n`);
    // A write into the punched range is data again.
    await v.ok(`printf X | dd of=big bs=1 seek=${M + 5} conv=notrunc status=none && test "$(tail -c +$((${M} + 6)) big | head -c 1)" = X`);
    // Other modes: the tool reports EOPNOTSUPP.
    for (const flag of ['-z', '-c', '-i']) {
      const r = await v.sh(`fallocate ${flag} -o 0 -l 4096 big`);
      assert.notEqual(r.code, 0, flag);
      assert.match(r.stderr, /not supported/, flag);
    }
  });
});
