/**
 * `bazil volume connect`: makes here a volume that lives on a peer. The
 * peer's volume.info names its id and a check of its sharing key; the volume
 * is made only when our sharing key passes that check (so a wrong key is said
 * at once, not as an endless refusal of every sync), then its files are pulled
 * in the background.
 */
import type { Db } from '../db/open.js';
import { BazilError, isBazilError } from '../errors.js';
import type { PeerConnection } from '../peer/connection.js';
import type { PeerNetwork } from '../peer/network.js';
import { addVolumePeer, peerLabel } from '../peer/peers.js';
import { peerCall } from '../peer/protocol.js';
import { sharingKeySecret } from '../store/sharing.js';
import { readVolumeInfo } from '../sync/validate.js';
import { createVolume, listVolumes, sharingKeyCheck, type Volume } from '../tree/volumes.js';
import type { OpenVolumes } from './open-volumes.js';
import type { SyncScheduler } from './sync-scheduler.js';

export interface ConnectContext {
  db: Db;
  network: PeerNetwork;
  volumes: OpenVolumes;
  scheduler: SyncScheduler;
  log(line: string): void;
  /** A line that repeats what the client prints itself. */
  note(line: string): void;
}

export interface ConnectRequest {
  peer: Buffer;
  /** The volume's name on the peer. */
  remoteName: string;
  /** Its name here. */
  name: string;
  /** The local sharing key's name. */
  sharing: string;
}

export async function connectVolume(ctx: ConnectContext, { peer, remoteName, name, sharing }: ConnectRequest): Promise<Volume> {
  const secret = sharingKeySecret(ctx.db, sharing); // NOT_FOUND, saying how to add it, before any network
  const conn = await ctx.network.connection(peer);
  const { result } = await peerCall(conn, 'volume.info', { name: remoteName });
  const { volumeId, keyCheck } = readVolumeInfo(result);
  if (!sharingKeyCheck(secret, volumeId).equals(keyCheck)) {
    throw new BazilError(
      'UNAUTHORIZED',
      `the sharing key "${sharing}" is not the key volume ${remoteName} uses on peer ${peerLabel(ctx.db, peer)}; copy the right key from there and add it with \`bazil sharing add NAME <KEYFILE\`, then connect with -sharing=NAME`,
    );
  }
  const same = listVolumes(ctx.db).find((v) => v.name === name);
  if (same && !ctx.volumes.get(name).volumeId.equals(volumeId)) throw differentVolumes(name, peer, sharing);
  const v = createVolume(ctx.db, name, sharing, volumeId);
  const opened = ctx.volumes.get(v.name);
  addVolumePeer(ctx.db, opened.rowId, peer);
  ctx.note(`connected volume ${v.name} to ${remoteName} on peer ${peerLabel(ctx.db, peer)}`);
  // Get its files now; the user need not wait for it.
  ctx.scheduler.pull(opened, peer).catch((err) => ctx.log(`first sync of ${v.name} from ${peerLabel(ctx.db, peer)} failed: ${(err as Error).message}`));
  return v;
}

/** The volume a peer has under a name, by id (hex), or undefined when it does not let this side see it. */
export async function theirVolumeId(conn: PeerConnection, name: string): Promise<string | undefined> {
  try {
    const { result } = await peerCall(conn, 'volume.info', { name });
    return readVolumeInfo(result).volumeId.toString('hex');
  } catch (err) {
    if (isBazilError(err, 'UNAUTHORIZED')) return undefined;
    throw err;
  }
}

/** Two volumes that share a name but not an id: say so, and how to connect theirs. */
export function differentVolumes(name: string, peer: Buffer, sharing: string): BazilError {
  return new BazilError(
    'CONFLICT',
    `volume ${name} here and volume ${name} on peer ${peer.toString('hex').slice(0, 16)} are different volumes that happen to share a name (each was created on its own), so they do not sync; ` +
      `to get theirs, connect it under another name: \`bazil volume connect -sharing=${sharing} ${peer.toString('hex')} ${name} ${name}-${peer.toString('hex').slice(0, 8)}\``,
  );
}
