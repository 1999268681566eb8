/**
 * The seed's walkthrough, command for command: white and black, two data dirs
 * on one host, each with a real server and a real mount. Every command is
 * spelled as in the seed; only the data dir (BAZIL_DATA_DIR) and white's
 * address (printed by its server) differ per run.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fuseUnavailable } from '../fuse/mount-helpers.js';
import { makeHost } from './hosts.js';

const skip = fuseUnavailable();

function objectCount(dataDir: string): number {
  const dir = join(dataDir, 'objects');
  return readdirSync(dir).reduce((n, sub) => n + readdirSync(join(dir, sub)).length, 0);
}

test('the seed walkthrough: black sees white\'s files after `bazil volume sync`, content fetched from white', { skip }, async (t) => {
  const white = await makeHost(t, 'white');
  const black = await makeHost(t, 'black');
  const env = { WHITE: white.key, BLACK: black.key };
  const w = (cmd: string) => white.ok(cmd, env);
  const b = (cmd: string) => black.ok(cmd, env);

  // Manual sync, so that what black sees comes from `bazil volume sync`, as in the seed.
  await white.start('--manual-sync');
  await black.start('-addr=127.0.0.1:0', '--manual-sync');
  await w('dd if=/dev/urandom of=sekrit bs=32 count=1');
  await w('bazil sharing add friends <sekrit');
  await w('bazil volume create -sharing=friends myfiles');
  await w('mkdir mnt');
  await w('bazil volume mount myfiles mnt');
  await w('bazil peer add $BLACK');
  await w('bazil peer storage allow $BLACK local');
  await w('bazil peer volume allow $BLACK myfiles');

  await b('bazil peer add $WHITE');
  await b(`bazil peer location set $WHITE ${white.addr()}`);
  await b(`cp ${white.root}/sekrit sekrit`);
  await b('bazil sharing add friends <sekrit');
  await b('bazil volume connect -sharing=friends $WHITE myfiles');
  await b('bazil volume storage add -sharing=friends myfiles peerkey:$WHITE');
  await b('mkdir mnt');
  await b('bazil volume mount myfiles mnt');

  await w('echo hello, world >mnt/greeting');
  await b('bazil volume sync myfiles $WHITE');
  assert.equal(await b('ls mnt'), 'greeting\n');
  assert.equal(await b('cat mnt/greeting'), 'hello, world\n');
  await w('echo hello, again >mnt/greeting');
  await b('bazil volume sync myfiles $WHITE');
  assert.equal(await b('cat mnt/greeting'), 'hello, again\n');

  // A file too big to travel with the metadata: its content is fetched from white when read.
  await w('head -c 3000000 /dev/urandom >mnt/big && sha256sum mnt/big >big.sum');
  const before = objectCount(black.dataDir);
  const out = await b('bazil volume sync myfiles $WHITE');
  assert.match(out, /1 new or changed/);
  assert.equal(objectCount(black.dataDir), before, 'a sync moves metadata only');
  await b(`sha256sum -c ${white.root}/big.sum`);
  assert.ok(objectCount(black.dataDir) > before, 'reading fetched the content from white');

  assert.match(await b('bazil peer list'), new RegExp(`^${white.key}\\tlocation=${white.addr().replace(/\./g, '\\.')}`, 'm'));
});
