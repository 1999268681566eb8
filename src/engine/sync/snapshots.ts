/**
 * Snapshots on every peer: a volume's snapshot references (name, root
 * directory object, time) and its snapshot deletions sync. A pull asks the
 * peer for both (sync.snapshots) and takes what it lacks; the snapshot's
 * directory objects and files are fetched on demand when browsed, like any
 * content. A snapshot is known by its name and root together: a deletion
 * removes that snapshot only, and keeps it from coming back from a peer that
 * has not seen the deletion yet.
 *
 * Two peers that take a snapshot of the same name at once keep each their
 * own: the other's is skipped (and logged) here; delete or rename one to
 * settle it.
 *
 *   sync.snapshots {volume, proof} -> WireSnapshots    (validate.ts reads it)
 */
import type { Db } from '../db/open.js';

export interface WireSnapshot {
  name: string;
  /** base64 of the root directory object's encoded manifest root */
  root: string;
  createdAt: number;
}

export interface WireSnapshotDeletion {
  name: string;
  root: string;
  at: number;
}

export interface WireSnapshots {
  snapshots: WireSnapshot[];
  deleted: WireSnapshotDeletion[];
}

/** A received snapshot listing, checked (validate.ts readSnapshots). */
export interface SnapshotList {
  snapshots: { name: string; root: Buffer; createdAt: number }[];
  deleted: { name: string; root: Buffer; at: number }[];
}

export interface SnapshotChanges {
  added: string[];
  deleted: string[];
  /** Names taken here and there with different content: theirs was not taken. */
  clashes: string[];
}

/** The sender's side. */
export function listSnapshotsWire(db: Db, volume: number): WireSnapshots {
  const snapshots = db.prepare('SELECT name, root, created_at FROM snapshots WHERE volume = ? ORDER BY name').all(volume) as { name: string; root: Buffer; created_at: number }[];
  const deleted = db.prepare('SELECT name, root, deleted_at FROM snapshot_deletions WHERE volume = ? ORDER BY name').all(volume) as { name: string; root: Buffer; deleted_at: number }[];
  return {
    snapshots: snapshots.map((r) => ({ name: r.name, root: r.root.toString('base64'), createdAt: r.created_at })),
    deleted: deleted.map((r) => ({ name: r.name, root: r.root.toString('base64'), at: r.deleted_at })),
  };
}

/** The receiver's side: takes their deletions, then the snapshots it lacks and has not deleted. One transaction. */
export function applySnapshots(db: Db, volume: number, theirs: SnapshotList): SnapshotChanges {
  const changes: SnapshotChanges = { added: [], deleted: [], clashes: [] };
  const get = db.prepare('SELECT root FROM snapshots WHERE volume = ? AND name = ?').pluck();
  const isDeleted = db.prepare('SELECT 1 FROM snapshot_deletions WHERE volume = ? AND name = ? AND root = ?');
  db.transaction(() => {
    for (const d of theirs.deleted) {
      const root = get.get(volume, d.name) as Buffer | undefined;
      if (root?.equals(d.root)) {
        db.prepare('DELETE FROM snapshots WHERE volume = ? AND name = ?').run(volume, d.name);
        changes.deleted.push(d.name);
      }
      db.prepare('INSERT OR IGNORE INTO snapshot_deletions (volume, name, root, deleted_at) VALUES (?, ?, ?, ?)').run(volume, d.name, d.root, d.at);
    }
    for (const s of theirs.snapshots) {
      if (isDeleted.get(volume, s.name, s.root)) continue;
      const root = get.get(volume, s.name) as Buffer | undefined;
      if (root) {
        if (!root.equals(s.root)) changes.clashes.push(s.name);
        continue;
      }
      db.prepare('INSERT INTO snapshots (volume, name, root, created_at) VALUES (?, ?, ?, ?)').run(volume, s.name, s.root, s.createdAt);
      changes.added.push(s.name);
    }
  })();
  return changes;
}
