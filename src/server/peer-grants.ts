/**
 * What a peer grants this data dir there: asked with the peer request
 * `grants.mine {volume?}` and answered from the asker's own grants only, so
 * a peer learns nothing of what others may do (and, for a volume name, the
 * same "no" whether the volume is missing or not granted).
 */
import type { PeerGrants } from '../engine/control/api.js';
import type { Db } from '../engine/db/open.js';
import { isBazilError } from '../engine/errors.js';
import type { PeerConnection } from '../engine/peer/connection.js';
import { mayReadStorage, mayUseVolume } from '../engine/peer/peers.js';
import { volumeNameParam } from '../engine/sync/validate.js';
import { volumeRowId } from '../engine/tree/volumes.js';

/** The answer to a peer's grants.mine. */
export function grantsOf(db: Db, peer: Buffer, params: Record<string, unknown>): PeerGrants {
  const grants: PeerGrants = { asker: peer.toString('hex'), storage: mayReadStorage(db, peer) ? ['local'] : [] };
  if (params.volume !== undefined) {
    const name = volumeNameParam(params, 'volume');
    let rowId: number | undefined;
    try {
      rowId = volumeRowId(db, name);
    } catch (err) {
      if (!isBazilError(err, 'NOT_FOUND')) throw err;
    }
    grants.volume = rowId !== undefined && mayUseVolume(db, peer, rowId);
  }
  return grants;
}

/** Asks a peer what it grants this data dir. */
export async function askGrants(conn: Pick<PeerConnection, 'call'>, volume?: string): Promise<PeerGrants> {
  const { result } = await conn.call<PeerGrants>('grants.mine', volume === undefined ? {} : { volume }, undefined, 10_000);
  const storage = Array.isArray(result?.storage) ? result.storage.filter((s): s is string => typeof s === 'string') : [];
  return { asker: typeof result?.asker === 'string' ? result.asker : '', storage, ...(typeof result?.volume === 'boolean' ? { volume: result.volume } : {}) };
}
