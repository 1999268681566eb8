/**
 * Conflicts: a peer's version that met a different local one. The local one
 * stays in place; the other is recorded here (with its vectors and content
 * reference, so nothing is lost) until the user resolves it, and kept after,
 * marked with how it was resolved.
 */
import type { Db } from '../db/open.js';
import { decode, encode } from '../clock/vector.js';
import type { Clocks } from '../clock/version.js';
import { BazilError } from '../errors.js';
import { nameBytes, nameFromBytes } from '../names.js';
import { KIND_CODES, KINDS, type Kind } from '../tree/tree.js';
import type { Entry } from './wire.js';

export type Resolution = 'mine' | 'theirs' | 'both' | 'superseded';

export interface Conflict {
  id: number;
  volume: number;
  path: string;
  /** The peer their version came from (hex key). */
  peer: string;
  /** That peer's name here, or null when it has none (or was removed). */
  peerName: string | null;
  /** Deleted here and changed there: their version was restored in place. */
  localDeleted: boolean;
  theirs: Clocks & {
    kind: Kind | 'deleted';
    mode: number;
    size: number;
    mtime: number;
    data: Buffer | null;
    manifest: Buffer | null;
    target: string | null;
  };
  createdAt: number;
  resolvedAt: number | null;
  resolution: Resolution | null;
}

interface Row {
  id: number;
  volume: number;
  path: Buffer;
  peer: Buffer;
  peer_name: string | null;
  local_deleted: number;
  kind: number;
  mode: number;
  size: number;
  mtime: number;
  data: Buffer | null;
  manifest: Buffer | null;
  target: Buffer | null;
  m: Buffer | null;
  s: Buffer | null;
  c: Buffer | null;
  created_at: number;
  resolved_at: number | null;
  resolution: Resolution | null;
}

const PEER_NAME = '(SELECT name FROM peers WHERE public_key = conflicts.peer) AS peer_name';

const fromRow = (r: Row): Conflict => ({
  id: r.id,
  volume: r.volume,
  path: nameFromBytes(r.path),
  peer: r.peer.toString('hex'),
  peerName: r.peer_name,
  localDeleted: r.local_deleted === 1,
  theirs: {
    kind: r.kind === 0 ? 'deleted' : KINDS[r.kind],
    mode: r.mode,
    size: r.size,
    mtime: r.mtime,
    data: r.data,
    manifest: r.manifest,
    target: r.target && nameFromBytes(r.target),
    m: decode(r.m),
    s: decode(r.s),
    c: decode(r.c),
  },
  createdAt: r.created_at,
  resolvedAt: r.resolved_at,
  resolution: r.resolution,
});

/** Records their version at path (replacing an open record of the same peer there). */
export function recordConflict(db: Db, volume: number, path: string, peer: Buffer, theirs: Entry, localDeleted: boolean): void {
  db.prepare('DELETE FROM conflicts WHERE volume = ? AND path = ? AND peer = ? AND resolved_at IS NULL').run(volume, nameBytes(path), peer);
  db.prepare(
    `INSERT INTO conflicts (volume, path, peer, local_deleted, kind, mode, size, mtime, data, manifest, target, m, s, c, created_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  ).run(
    volume,
    nameBytes(path),
    peer,
    localDeleted ? 1 : 0,
    theirs.kind === 'deleted' ? 0 : KIND_CODES[theirs.kind],
    theirs.mode,
    theirs.size,
    theirs.mtime,
    theirs.data,
    theirs.manifest,
    theirs.target === null ? null : nameBytes(theirs.target),
    encode(theirs.m),
    encode(theirs.s),
    encode(theirs.c),
    Date.now(),
  );
}

/** A sync found the two sides agree again at path: open conflicts with that peer there are settled. */
export function settleConflicts(db: Db, volume: number, path: string, peer: Buffer): void {
  db.prepare("UPDATE conflicts SET resolved_at = ?, resolution = 'superseded' WHERE volume = ? AND path = ? AND peer = ? AND resolved_at IS NULL").run(
    Date.now(),
    volume,
    nameBytes(path),
    peer,
  );
}

/** Whether the volume has a conflict not resolved yet. */
export function hasOpenConflicts(db: Db, volume: number): boolean {
  return db.prepare('SELECT 1 FROM conflicts WHERE volume = ? AND resolved_at IS NULL LIMIT 1').get(volume) !== undefined;
}

export function listConflicts(db: Db, volume?: number, all = false): Conflict[] {
  const where = [volume !== undefined ? 'volume = ?' : '', all ? '' : 'resolved_at IS NULL'].filter(Boolean);
  const sql = `SELECT *, ${PEER_NAME} FROM conflicts ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY volume, path, id`;
  return (db.prepare(sql).all(...(volume !== undefined ? [volume] : [])) as Row[]).map(fromRow);
}

export function openConflictsAt(db: Db, volume: number, path: string): Conflict[] {
  return (db.prepare(`SELECT *, ${PEER_NAME} FROM conflicts WHERE volume = ? AND path = ? AND resolved_at IS NULL ORDER BY id`).all(volume, nameBytes(path)) as Row[]).map(fromRow);
}

export function markResolved(db: Db, id: number, resolution: Resolution): void {
  const r = db.prepare('UPDATE conflicts SET resolved_at = ?, resolution = ? WHERE id = ? AND resolved_at IS NULL').run(Date.now(), resolution, id);
  if (r.changes === 0) throw new BazilError('NOT_FOUND', `conflict ${id} is not open`);
}
