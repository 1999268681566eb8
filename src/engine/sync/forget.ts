/**
 * Forgetting tombstones. A deletion is kept as a tombstone so that it syncs
 * and so that a version it superseded, arriving later, is known as deleted.
 * Once every peer the volume syncs with has seen it, and this replica's own
 * directory has seen everything the tombstone has, the tombstone says
 * nothing the directory's s does not:
 *
 *  - what a peer has seen is its root's s as it last listed it to us (a
 *    directory's s is the least of its subtree's, so the root's is what the
 *    peer has seen everywhere). A peer whose m-covering s we hold has the
 *    deletion, or a version newer than it: it will not send back what the
 *    deletion removed;
 *  - with the tombstone's m and s covered by its directory's s here, a name
 *    with no trace is judged by that s (reconcile.ts) exactly as the
 *    tombstone would judge it: a superseded version is "seen and deleted",
 *    here and for a peer that pulls from us.
 *
 * Conservative: a peer never heard from (no listing recorded) keeps every
 * tombstone of the volume, as does one whose last listing had not seen it.
 */
import { decode, encode, le, type Vector } from '../clock/vector.js';
import { effectiveSync } from '../clock/version.js';
import type { Db } from '../db/open.js';
import type { Tree } from '../tree/tree.js';

/** Records what a peer has seen of a volume: its root's whole s, as its listing showed it. */
export function recordPeerSeen(db: Db, volume: number, peer: Buffer, s: Vector): void {
  db.prepare('INSERT INTO peer_seen (volume, peer, s, at) VALUES (?, ?, ?, ?) ON CONFLICT (volume, peer) DO UPDATE SET s = excluded.s, at = excluded.at').run(
    volume,
    peer,
    encode(s),
    Date.now(),
  );
}

/** Forgets the tombstones of a volume that every peer it syncs with has seen; returns how many. */
export function forgetTombstones(db: Db, tree: Tree): number {
  const volume = tree.volumeId;
  const peers = db
    .prepare('SELECT peer FROM peer_volumes WHERE volume = ? UNION SELECT peer FROM volume_peers WHERE volume = ?')
    .pluck()
    .all(volume, volume) as Buffer[];
  const seenBy: Vector[] = [];
  for (const peer of peers) {
    const row = db.prepare('SELECT s FROM peer_seen WHERE volume = ? AND peer = ?').get(volume, peer) as { s: Buffer | null } | undefined;
    if (!row) return 0; // never heard from: it may hold anything a tombstone stands against
    seenBy.push(decode(row.s));
  }
  const tombs = db.prepare('SELECT parent, name, m, s FROM tombstones WHERE volume = ?').all(volume) as { parent: number; name: Buffer; m: Buffer; s: Buffer | null }[];
  if (tombs.length === 0) return 0;
  return tree.transaction(() => {
    const epoch = tree.epoch();
    const dirSeen = new Map<number, Vector | null>();
    const drop = db.prepare('DELETE FROM tombstones WHERE parent = ? AND name = ?');
    let forgotten = 0;
    for (const t of tombs) {
      const m = decode(t.m);
      if (!seenBy.every((s) => le(m, s))) continue;
      let dir = dirSeen.get(t.parent);
      if (dir === undefined) {
        // A tombstone whose directory went (with a tombstone of its own, which stands for it) stays as it is.
        dir = tree.exists(t.parent) ? effectiveSync(tree.syncVector(t.parent), epoch) : null;
        dirSeen.set(t.parent, dir);
      }
      if (!dir || !le(m, dir) || !le(decode(t.s), dir)) continue;
      drop.run(t.parent, t.name);
      forgotten++;
    }
    return forgotten;
  });
}
