/**
 * Volumes: named file trees, each encrypted under one sharing key. A volume also
 * has a random 32-byte id that stays the same on every peer that connects to it.
 */
import { createHmac, hkdfSync, randomBytes } from 'node:crypto';
import type { Db } from '../db/open.js';
import { BazilError } from '../errors.js';
import { checkName } from '../names.js';
import { sharingKeySecret } from '../store/sharing.js';

export interface Volume {
  name: string;
  volumeId: Buffer;
  sharingKey: string;
}

interface VolumeRow {
  name: string;
  volume_id: Buffer;
  sharing_key: string;
}

const fromRow = (r: VolumeRow): Volume => ({ name: r.name, volumeId: r.volume_id, sharingKey: r.sharing_key });

/** Creates a volume; with volumeId, a local copy of a volume that exists on a peer (bazil volume connect). */
export function createVolume(db: Db, name: string, sharingKey: string, volumeId: Buffer = randomBytes(32)): Volume {
  checkName('volume', name);
  return db.transaction(() => {
    sharingKeySecret(db, sharingKey); // NOT_FOUND with the next step when the key is unknown
    if (db.prepare('SELECT 1 FROM volumes WHERE name = ?').get(name)) {
      throw new BazilError('ALREADY_EXISTS', `a volume named "${name}" already exists; pick another name (see \`bazil volume list\`)`);
    }
    if (db.prepare('SELECT 1 FROM volumes WHERE volume_id = ?').get(volumeId)) {
      throw new BazilError('ALREADY_EXISTS', `this volume is already here, under another name; see \`bazil volume list\``);
    }
    db.prepare('INSERT INTO volumes (name, volume_id, sharing_key, created_at) VALUES (?, ?, ?, ?)').run(
      name,
      volumeId,
      sharingKey,
      Date.now(),
    );
    return { name, volumeId, sharingKey };
  })();
}

export function listVolumes(db: Db): Volume[] {
  return (db.prepare('SELECT name, volume_id, sharing_key FROM volumes ORDER BY name').all() as VolumeRow[]).map(fromRow);
}

const noSuchVolume = (name: string) =>
  new BazilError('NOT_FOUND', `no volume named "${name}"; see \`bazil volume list\`, or create it with \`bazil volume create ${name}\``);

export function getVolume(db: Db, name: string): Volume {
  const row = db.prepare('SELECT name, volume_id, sharing_key FROM volumes WHERE name = ?').get(name) as VolumeRow | undefined;
  if (!row) throw noSuchVolume(name);
  return fromRow(row);
}

/** The database id of a volume (what its tree and snapshots are keyed by). */
export function volumeRowId(db: Db, name: string): number {
  const row = db.prepare('SELECT id FROM volumes WHERE name = ?').get(name) as { id: number } | undefined;
  if (!row) throw noSuchVolume(name);
  return row.id;
}

/** A volume by the id it has on every peer. */
export function volumeById(db: Db, volumeId: Buffer): (Volume & { rowId: number }) | undefined {
  const row = db.prepare('SELECT id, name, volume_id, sharing_key FROM volumes WHERE volume_id = ?').get(volumeId) as (VolumeRow & { id: number }) | undefined;
  return row && { ...fromRow(row), rowId: row.id };
}

/**
 * Proof that two peers hold the same sharing key for a volume, without
 * revealing the key: an HMAC of the volume id under it.
 */
export function sharingKeyCheck(secret: Buffer, volumeId: Buffer): Buffer {
  return createHmac('sha256', secret).update('bazil sharing key check\0').update(volumeId).digest();
}

/** The sharing key secret of a volume, by its row id. */
export function volumeSecret(db: Db, volumeRowId: number): Buffer {
  const name = db.prepare('SELECT sharing_key FROM volumes WHERE id = ?').pluck().get(volumeRowId) as string | undefined;
  if (name === undefined) throw new BazilError('NOT_FOUND', `no volume with id ${volumeRowId}`);
  return sharingKeySecret(db, name);
}

/**
 * Proof that the asking side of one connection holds a volume's sharing key,
 * sent with each request that reads (or announces) the volume: an HMAC, under
 * a key derived from the sharing key, of the connection's channel binding,
 * the volume id and the key of the side that answers. Bound to the
 * connection, it cannot be replayed on another; naming the replier, it cannot
 * be sent back the other way on the same one.
 */
export function volumeProof(secret: Buffer, binding: Buffer, volumeId: Buffer, replier: Buffer): Buffer {
  const key = Buffer.from(hkdfSync('sha256', secret, Buffer.alloc(0), 'bazil volume proof v1', 32));
  return createHmac('sha256', key).update(binding).update(volumeId).update(replier).digest();
}
