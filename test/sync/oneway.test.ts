/**
 * The README's walkthrough grants, exactly (white grants black the volume and
 * its store; black grants white nothing), with servers that sync on their
 * own: a change on white is announced to black, which takes the announcement
 * (white is where its volume was connected from) and pulls at once, long
 * before the 30 s catch-up. No side logs a refusal. A directory of 600 files
 * of 16 KiB (a listing of about 13 MB, over one peer message) syncs in pages.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fuseUnavailable } from '../fuse/mount-helpers.js';
import { eventually, makeHost } from './hosts.js';

const skip = fuseUnavailable();

test("with the README's one-way grants, a change on white shows on black at once, and a directory of 600 files of 16 KiB syncs", { skip, timeout: 180_000 }, async (t) => {
  const white = await makeHost(t, 'white');
  const black = await makeHost(t, 'black');
  await white.start('-addr=127.0.0.1:0');
  await black.start('-addr=127.0.0.1:0');
  await white.ok('dd if=/dev/urandom of=sekrit bs=32 count=1 2>/dev/null');
  await white.ok(
    `bazil sharing add friends <sekrit && bazil volume create -sharing=friends myfiles && mkdir mnt && bazil volume mount myfiles mnt && ` +
      `bazil peer add ${black.key} && bazil peer storage allow ${black.key} local && bazil peer volume allow ${black.key} myfiles`,
  );
  await black.ok(
    `bazil peer add ${white.key} && bazil peer location set ${white.key} ${white.addr()} && bazil sharing add friends <${white.root}/sekrit && ` +
      `bazil volume connect -sharing=friends ${white.key} myfiles && bazil volume storage add -sharing=friends myfiles peerkey:${white.key} && ` +
      'mkdir mnt && bazil volume mount myfiles mnt',
  );
  // The first sync (at connect) has run: black is connected to white.
  await eventually(() => black.server!.stderr().includes('connected volume myfiles'), 10_000);

  await white.ok('echo hello, world >mnt/greeting');
  // Well inside the 30 s catch-up: only the announcement can have brought it.
  await eventually(async () => (await black.sh('cat mnt/greeting')).stdout === 'hello, world\n', 10_000, 'the greeting on black');

  await white.ok('mkdir mnt/many && for i in $(seq 600); do head -c 16384 /dev/urandom >mnt/many/$i; done && (cd mnt/many && sha256sum $(seq 600)) >many.sum');
  await eventually(async () => (await black.sh('ls mnt/many | wc -l')).stdout.trim() === '600', 60_000, '600 files on black');
  await black.ok(`cd mnt/many && sha256sum --quiet -c ${white.root}/many.sum`);

  for (const h of [white, black]) assert.doesNotMatch(h.server!.stderr(), /refused|over the limit|could not/, `${h.name}'s log:\n${h.server!.stderr()}`);
});
