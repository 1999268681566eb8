/**
 * Control-socket methods for peers and grants (the engine side is
 * engine/peer/peers.ts; the shapes are in engine/control/api.ts). Keys travel
 * as 64 hex characters.
 *
 * A removal or a deny holds at once: grants are checked on every request a
 * peer makes, and a removed peer's open connections are closed. Without a
 * server (no network) the same methods change the data dir alone.
 */
import type { MethodTable, PeerGrants } from '../engine/control/api.js';
import type { DataDir } from '../engine/datadir.js';
import { BazilError } from '../engine/errors.js';
import { shortKey } from '../engine/peer/handshake.js';
import {
  addPeer,
  addVolumeStorage,
  allowStorage,
  allowVolume,
  denyStorage,
  denyVolume,
  listPeers,
  parsePublicKey,
  removePeer,
  setPeerLocation,
} from '../engine/peer/peers.js';
import { DEFAULT_SHARING_KEY } from '../engine/store/sharing.js';
import { text, type Params } from './params.js';
import { askGrants } from '../engine/node/peer-grants.js';
import type { PeerNetwork } from '../engine/peer/network.js';

export type PeerMethod =
  | 'peer.add'
  | 'peer.remove'
  | 'peer.list'
  | 'peer.location.set'
  | 'peer.storage.allow'
  | 'peer.storage.deny'
  | 'peer.volume.allow'
  | 'peer.volume.deny'
  | 'volume.storage.add';

export interface PeerMethodContext {
  dataDir: DataDir;
  /** The server's peer connections; none without a server. */
  network?: Pick<PeerNetwork, 'disconnect' | 'connection'>;
  log(line: string): void;
  /** A line that repeats what the client prints itself. */
  note(line: string): void;
}

/** A peer to talk to, refused when it is this data dir's own key (a common slip: the keys look alike). */
export function peerKey(dataDir: DataDir, p: Params, name: string): Buffer {
  const key = parsePublicKey(text(p, name));
  if (key.equals(dataDir.publicKey())) {
    throw new BazilError(
      'INVALID_ARGUMENT',
      `${key.toString('hex')} is this data dir's own public key; a peer is another data dir: run \`bazil debug pubkey\` on the other machine for its key`,
    );
  }
  return key;
}

export function peerMethods(ctx: PeerMethodContext): MethodTable<PeerMethod> {
  const { db } = ctx.dataDir;
  const key = (p: Params) => parsePublicKey(text(p, 'key'));
  // Introducing or granting one's own key: say so, rather than "add it as a peer first".
  const other = (p: Params) => peerKey(ctx.dataDir, p, 'key');
  return {
    'peer.add': (p) => {
      const k = other(p);
      addPeer(db, k);
      ctx.note(`added peer ${k.toString('hex')}`);
      return {};
    },
    'peer.remove': (p) => {
      const k = key(p);
      removePeer(db, k);
      const closed = ctx.network?.disconnect(k) ?? 0;
      ctx.note(`removed peer ${k.toString('hex')}${closed ? `, closed its ${closed} open connection${closed === 1 ? '' : 's'}` : ''}`);
      return { closed };
    },
    'peer.list': () => listPeers(db),
    'peer.location.set': (p) => {
      const k = other(p);
      const location = text(p, 'location');
      setPeerLocation(db, k, location);
      ctx.note(`peer ${k.toString('hex')} is at ${location}`);
      return {};
    },
    'peer.storage.allow': (p) => {
      const k = other(p);
      const backend = text(p, 'backend');
      allowStorage(db, k, backend);
      ctx.note(`peer ${k.toString('hex')} may read storage ${backend}`);
      return {};
    },
    'peer.storage.deny': (p) => {
      const k = key(p);
      const backend = text(p, 'backend');
      denyStorage(db, k, backend);
      ctx.note(`peer ${k.toString('hex')} may no longer read storage ${backend}`);
      return {};
    },
    'peer.volume.allow': (p) => {
      const k = other(p);
      const volume = text(p, 'volume');
      allowVolume(db, k, volume);
      ctx.note(`peer ${k.toString('hex')} may sync volume ${volume}`);
      return {};
    },
    'peer.volume.deny': (p) => {
      const k = key(p);
      const volume = text(p, 'volume');
      denyVolume(db, k, volume);
      ctx.note(`peer ${k.toString('hex')} may no longer sync volume ${volume}`);
      return {};
    },
    'volume.storage.add': async (p) => {
      const volume = text(p, 'volume');
      const backend = text(p, 'backend');
      if (backend.startsWith('peerkey:')) peerKey(ctx.dataDir, { key: backend.slice('peerkey:'.length).trim() }, 'key');
      addVolumeStorage(db, volume, text(p, 'sharing', DEFAULT_SHARING_KEY), backend);
      ctx.note(`volume ${volume} may fetch content from ${backend}`);
      if (backend === 'local' || !ctx.network) return {};
      // Whether the peer lets this side read its store: otherwise reads fail later, as a bare EACCES.
      return { grants: await grantsOrNothing(ctx.network, parsePublicKey(backend.slice(backend.indexOf(':') + 1)), undefined, ctx.log) };
    },
  };
}

/** What a peer grants here, or undefined when it cannot be asked now (not reachable, an older bazil). */
export async function grantsOrNothing(
  network: Pick<PeerNetwork, 'connection'>,
  peer: Buffer,
  volume: string | undefined,
  log: (line: string) => void,
): Promise<PeerGrants | undefined> {
  try {
    return await askGrants(await network.connection(peer), volume);
  } catch (err) {
    log(`could not ask peer ${shortKey(peer)} what it grants here: ${err instanceof Error ? err.message : String(err)}`);
    return undefined;
  }
}
