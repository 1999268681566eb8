/**
 * Migration 8 (names as bytes): a database at schema 7, filled as the code of
 * that schema filled it (names, targets and paths bound as text), opens at the
 * latest schema with every row kept, every name now the BLOB of its UTF-8
 * bytes, lookups still indexed, and room for names that are not UTF-8.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { openDb } from '../../../src/engine/db/open.js';
import { MIGRATIONS } from '../../../src/engine/db/schema.js';
import { listConflicts } from '../../../src/engine/sync/conflicts.js';
import { Tree } from '../../../src/engine/tree/tree.js';
import { tempDir } from '../../helpers.js';

const NAMES_MIGRATION = 8;

/** A schema-7 database: a volume with a root, files, a symlink, a tombstone, a conflict and a pin, bound as text. */
function schema7(path: string): { root: number } {
  const db = new Database(path);
  for (const m of MIGRATIONS.slice(0, NAMES_MIGRATION - 1)) db.exec(m);
  db.pragma(`user_version = ${NAMES_MIGRATION - 1}`);
  db.prepare('INSERT INTO sharing_keys (name, secret, created_at) VALUES (?, ?, 0)').run('default', Buffer.alloc(32));
  db.prepare('INSERT INTO volumes (id, name, volume_id, sharing_key, created_at) VALUES (1, ?, ?, ?, 0)').run('v', Buffer.alloc(32, 1), 'default');
  const node = db.prepare('INSERT INTO nodes (volume, parent, name, kind, mode, size, mtime, ctime, data, target, m, mtime_ns, atime) VALUES (1, ?, ?, ?, ?, ?, 1000, 1000, ?, ?, ?, 7, 2000)');
  const root = Number(node.run(0, '', 2, 0o755, 0, null, null, null).lastInsertRowid);
  db.prepare('UPDATE nodes SET parent = ino WHERE ino = ?').run(root);
  node.run(root, 'café.txt', 1, 0o644, 5, Buffer.from('hello'), null, Buffer.from([1, 2]));
  node.run(root, 'Café.txt', 1, 0o600, 0, Buffer.alloc(0), null, null);
  node.run(root, 'caf\ufffd.txt', 1, 0o644, 0, Buffer.alloc(0), null, null);
  const dir = Number(node.run(root, 'dir', 2, 0o755, 0, null, null, null).lastInsertRowid);
  node.run(dir, 'link', 3, 0o777, 9, null, '../café.txt', null);
  db.prepare('INSERT INTO tombstones (volume, parent, name, kind, m, s, c) VALUES (1, ?, ?, 1, ?, NULL, NULL)').run(root, 'gone é', Buffer.from([3]));
  db.prepare('INSERT INTO conflicts (volume, path, peer, local_deleted, kind, mode, size, mtime, target, created_at) VALUES (1, ?, ?, 0, 3, 511, 2, 5, ?, 9)').run('/dir/é', Buffer.alloc(32, 2), 'é');
  db.prepare('INSERT INTO pins (volume, path, created_at) VALUES (1, ?, 9)').run('/dir');
  db.close();
  return { root };
}

test('a schema-7 database migrates to names as bytes without losing a row or a byte', (t) => {
  const path = join(tempDir(t), 'bazil.db');
  const { root } = schema7(path);
  const before = new Database(path, { readonly: true });
  const rowsBefore = before.prepare('SELECT ino, volume, parent, hex(name) AS name, kind, mode, size, mtime, ctime, data, hex(target) AS target, m, s, c, mtime_ns, atime, atime_ns FROM nodes ORDER BY ino').all();
  before.close();

  const db = openDb(path);
  t.after(() => db.close());
  assert.equal(db.pragma('user_version', { simple: true }), MIGRATIONS.length);
  // Every column as it was; names and targets as the same bytes, now BLOBs.
  assert.deepEqual(db.prepare('SELECT ino, volume, parent, hex(name) AS name, kind, mode, size, mtime, ctime, data, hex(target) AS target, m, s, c, mtime_ns, atime, atime_ns FROM nodes ORDER BY ino').all(), rowsBefore);
  assert.deepEqual(db.prepare("SELECT DISTINCT typeof(name) FROM nodes UNION SELECT DISTINCT typeof(name) FROM tombstones UNION SELECT typeof(path) FROM conflicts UNION SELECT typeof(path) FROM pins").pluck().all(), ['blob']);
  assert.deepEqual(db.prepare("SELECT typeof(target) FROM nodes WHERE kind = 3 UNION SELECT typeof(target) FROM conflicts").pluck().all(), ['blob']);
  assert.deepEqual(db.pragma('foreign_key_check'), []);
  assert.equal(db.pragma('integrity_check', { simple: true }), 'ok');

  // The tree reads it all back as it was.
  const tree = new Tree(db, 1);
  assert.equal(tree.root, root);
  // In byte order: C < c, and é (c3 a9) < U+FFFD (ef bf bd).
  assert.deepEqual(tree.children(root).map((n) => n.name), ['Café.txt', 'café.txt', 'caf\ufffd.txt', 'dir']);
  assert.equal(tree.resolve('/café.txt').data?.toString(), 'hello');
  assert.equal(tree.resolve('/dir/link').target, '../café.txt');
  assert.equal(tree.tombstone(root, 'gone é')?.kind, 'file');
  const [c] = listConflicts(db, 1);
  assert.equal(c.path, '/dir/é');
  assert.equal(c.theirs.target, 'é');
  assert.deepEqual(db.prepare('SELECT path FROM pins').pluck().all(), [Buffer.from('/dir')]);

  // Names that are not UTF-8 now have room beside them: caf\xe9.txt and caf\xe8.txt are two more files.
  tree.create(root, 'caf\udce9.txt', 'file', 0o644);
  tree.create(root, 'caf\udce8.txt', 'file', 0o644);
  assert.deepEqual(tree.children(root).map((n) => n.name), ['Café.txt', 'café.txt', 'caf\udce8.txt', 'caf\udce9.txt', 'caf\ufffd.txt', 'dir']);
  assert.deepEqual(
    db.prepare("SELECT hex(name) FROM nodes WHERE parent = ? AND substr(name, 1, 3) = CAST('caf' AS BLOB) ORDER BY name").pluck().all(root),
    ['636166C3A92E747874', '636166E82E747874', '636166E92E747874', '636166EFBFBD2E747874'],
  );
  assert.throws(() => db.prepare('INSERT INTO nodes (volume, parent, name, kind, mode, mtime, ctime) VALUES (1, ?, ?, 1, 0, 0, 0)').run(root, 'text'), /CHECK constraint/);

  // Lookups by name still use the (parent, name) index.
  const plan = db.prepare("EXPLAIN QUERY PLAN SELECT ino FROM nodes WHERE parent = ? AND name = ?").all(root, Buffer.from('x')) as { detail: string }[];
  assert.match(plan.map((p) => p.detail).join('\n'), /USING (COVERING )?INDEX sqlite_autoindex_nodes_1 \(parent=\? AND name=\?\)/);
  const tombPlan = db.prepare("EXPLAIN QUERY PLAN SELECT kind FROM tombstones WHERE parent = ? AND name = ?").all(root, Buffer.from('x')) as { detail: string }[];
  assert.match(tombPlan.map((p) => p.detail).join('\n'), /USING (COVERING )?INDEX sqlite_autoindex_tombstones_1 \(parent=\? AND name=\?\)/);
});
