/** The native modules build from a clean clone (package.json allowScripts) and load. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

test('better-sqlite3 is built and works', () => {
  const Database = require('better-sqlite3');
  const db = new Database(':memory:');
  assert.equal(db.prepare('SELECT 1 + 1 AS two').get().two, 2);
  db.close();
});

const libfuse = execFileSync('ldconfig', ['-p'], { encoding: 'utf8' }).includes('libfuse3.so.3 ');

test('the FUSE edge (native/) is built and loads libfuse3', { skip: libfuse ? false : 'libfuse3 is not installed: run `sudo bash scripts/system-deps.sh`' }, () => {
  const edge = require('../../build/Release/fuse_edge.node');
  assert.equal(typeof edge.mount, 'function');
  assert.equal(typeof edge.replyEntry, 'function');
});

test("ssh2 and its native cpu-features are built", () => {
  assert.equal(typeof require('ssh2').Client, 'function');
  const features = require('cpu-features')();
  assert.equal(typeof features.arch, 'string');
});
