/** A mistyped data dir never becomes a new identity: only `bazil create` (and bare `bazil` on the default) makes one. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BAZIL, bazil, tempDir } from '../helpers.js';

test('no command but `create` makes a data dir: a missing one exits 3 and says how to create it', async (t) => {
  const cwd = tempDir(t);
  // The seed's typo: the command taken as the data dir's path.
  const typo = await bazil(['--data-dir', 'status'], { cwd });
  assert.equal(typo.code, 2);
  assert.equal(typo.stderr, 'bazil: --data-dir took `status` as its path; to run `bazil status`, give the data dir first: bazil --data-dir=PATH status\n');
  const deep = join(cwd, 'nonexistent', 'dir');
  for (const args of [[], ['status'], ['volume', 'list'], ['sharing', 'list'], ['server', 'run'], ['server', 'start'], ['volume', 'create', 'v'], ['debug', 'pubkey']]) {
    const r = await bazil([`--data-dir=${deep}`, ...args], { cwd });
    assert.equal(r.code, 3, `${args.join(' ')}: ${r.stderr}`);
    assert.equal(r.stderr, `bazil: no bazil data dir at ${deep}; create one with \`bazil --data-dir=${deep} create\` (or point --data-dir at an existing one)\n`, args.join(' '));
  }
  const viaEnv = await bazil([], { cwd, env: { BAZIL_DATA_DIR: deep } });
  assert.equal(viaEnv.code, 3);
  assert.deepEqual(readdirSync(cwd), [], 'nothing was made');
  // The way out works, path and all.
  assert.equal((await bazil([`--data-dir=${deep}`, 'create'], { cwd })).code, 0);
  assert.equal((await bazil([`--data-dir=${deep}`], { cwd })).code, 0);
});

test('a plain file or an unwritable path as the data dir gets its own message', async (t) => {
  const base = tempDir(t);
  const file = join(base, 'file');
  writeFileSync(file, 'x');
  const status = await bazil([`--data-dir=${file}`, 'status']);
  assert.equal(status.code, 3);
  assert.equal(status.stderr, `bazil: ${file} is a file, not a bazil data dir; point --data-dir at a data dir\n`);
  const create = await bazil([`--data-dir=${file}`, 'create']);
  assert.equal(create.code, 4);
  assert.match(create.stderr, new RegExp(`^bazil: ${file} is a file; bazil create makes a data dir in a new or empty directory`));
  const under = await bazil([`--data-dir=${join(file, 'x')}`, 'create']);
  assert.equal(under.code, 2);
  assert.match(under.stderr, /part of that path is a file, not a directory; pick another path with --data-dir\n$/);
  const notOurs = await bazil([`--data-dir=${base}`, 'volume', 'list']);
  assert.equal(notOurs.code, 3);
  assert.match(notOurs.stderr, new RegExp(`^bazil: ${base} is not a bazil data dir \\(it has no bazil\\.db\\)`));

  // Unwritable: as another user when run as root (root may write anywhere).
  const locked = join(base, 'locked');
  mkdirSync(locked, { mode: 0o555 });
  chmodSync(locked, 0o555);
  chmodSync(base, 0o755);
  const asUser = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {};
  const r = spawnSync(process.execPath, [BAZIL, `--data-dir=${join(locked, 'data')}`, 'create'], { encoding: 'utf8', ...asUser, env: { ...process.env, BAZIL_DATA_DIR: '' } });
  assert.equal(r.status, 7, r.stderr);
  assert.equal(r.stderr, `bazil: cannot create a data dir at ${join(locked, 'data')}: ${locked} is not writable (EACCES); pick another path with --data-dir\n`);
  assert.ok(!existsSync(join(locked, 'data')));
});
