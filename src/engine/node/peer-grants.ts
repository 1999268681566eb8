/**
 * What a peer grants this data dir there: asked with the peer request
 * `grants.mine {volume?}` and answered from the asker's own grants only, so
 * a peer learns nothing of what others may do (and, for a volume name, the
 * same "no" whether the volume is missing or not granted).
 */
import type { PeerGrants } from '../control/api.js';
import type { Db } from '../db/open.js';
import { isBazilError } from '../errors.js';
import type { PeerConnection } from '../peer/connection.js';
import { mayReadStorage, mayUseVolume } from '../peer/peers.js';
import { peerCall } from '../peer/protocol.js';
import { volumeNameParam } from '../sync/validate.js';
import { volumeRowId } from '../tree/volumes.js';

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
export async function askGrants(conn: PeerConnection, volume?: string): Promise<PeerGrants> {
  const result = (await peerCall(conn, 'grants.mine', volume === undefined ? {} : { volume })).result as Partial<PeerGrants> | undefined;
  const storage = Array.isArray(result?.storage) ? result.storage.filter((s): s is string => typeof s === 'string') : [];
  return { asker: typeof result?.asker === 'string' ? result.asker : '', storage, ...(typeof result?.volume === 'boolean' ? { volume: result.volume } : {}) };
}
