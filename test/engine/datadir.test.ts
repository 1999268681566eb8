import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { createDataDir, DataDir } from '../../src/engine/datadir.js';
import { MIGRATIONS } from '../../src/engine/db/schema.js';
import { isBazilError } from '../../src/engine/errors.js';
import { tempDir } from '../helpers.js';

test('a data dir from a newer bazil is refused and left untouched', (t) => {
  const path = join(tempDir(t), 'd');
  createDataDir(path);
  const db = new Database(join(path, 'bazil.db'));
  db.pragma(`user_version = ${MIGRATIONS.length + 1}`);
  db.close();
  const before = readFileSync(join(path, 'bazil.db'));
  assert.throws(() => DataDir.open(path, { write: true }), (err) => isBazilError(err, 'INVALID_ARGUMENT') && /upgrade bazil/.test(err.message));
  assert.ok(readFileSync(join(path, 'bazil.db')).equals(before));
  // The refusal released the lock.
  assert.throws(() => DataDir.open(path, { write: true }), (err) => isBazilError(err, 'INVALID_ARGUMENT'));
});

test('one writer at a time, in the same process too; readers are not blocked', (t) => {
  const path = join(tempDir(t), 'd');
  createDataDir(path);
  const first = DataDir.open(path, { write: true });
  assert.throws(() => DataDir.open(path, { write: true }), (err) => isBazilError(err, 'LOCKED') && err.message.includes(String(process.pid)));
  const reader = DataDir.open(path, { write: false });
  assert.equal(reader.publicKey().length, 32);
  reader.close();
  first.close();
  DataDir.open(path, { write: true }).close();
});

test('the schema is at the latest version after create', (t) => {
  const path = join(tempDir(t), 'd');
  createDataDir(path);
  const dir = DataDir.open(path, { write: false });
  assert.equal(dir.db.pragma('user_version', { simple: true }), MIGRATIONS.length);
  assert.equal(dir.db.pragma('journal_mode', { simple: true }), 'wal');
  dir.close();
});

test('a writer removes temp files left by a writer that died, and readers leave them', (t) => {
  const path = join(tempDir(t), 'd');
  createDataDir(path);
  writeFileSync(join(path, 'tmp', 'obj-left-by-a-crash'), 'half an object');
  DataDir.open(path, { write: false }).close();
  assert.deepEqual(readdirSync(join(path, 'tmp')), ['obj-left-by-a-crash']);
  DataDir.open(path, { write: true }).close();
  assert.deepEqual(readdirSync(join(path, 'tmp')), []);
});
