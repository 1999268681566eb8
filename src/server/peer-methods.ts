/**
 * Control-socket methods for peers and grants (the engine side is
 * engine/peer/peers.ts; the shapes are in engine/control/api.ts). Keys travel
 * as 64 hex characters.
 *
 * A removal or a deny holds at once: grants are checked on every request a
 * peer makes, and a removed peer's open connections are closed. Without a
 * server (no network) the same methods change the data dir alone.
 */
import type { MethodTable, PeerGrants, PeerRef } from '../engine/control/api.js';
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
  peerName,
  removePeer,
  renamePeer,
  resolvePeer,
  setPeerLocation,
  uniquePeerName,
} from '../engine/peer/peers.js';
import { DEFAULT_SHARING_KEY, listSharingKeys, sharingKeySecret } from '../engine/store/sharing.js';
import { getVolume } from '../engine/tree/volumes.js';
import { base64Bytes, text, type Params } from './params.js';
import { askGrants } from '../engine/node/peer-grants.js';
import type { PeerNetwork } from '../engine/peer/network.js';

export type PeerMethod =
  | 'peer.add'
  | 'peer.connect'
  | 'pair.volumeSecret'
  | 'pair.findSharing'
  | 'peer.rename'
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

/**
 * A peer to talk to, named by its name, its key or a unique key prefix;
 * refused when it is this data dir's own key (a common slip: the keys look alike).
 */
export function peerKey(dataDir: DataDir, p: Params, name: string): Buffer {
  const key = resolvePeer(dataDir.db, text(p, name));
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
  const key = (p: Params) => resolvePeer(db, text(p, 'key'));
  // Introducing or granting one's own key: say so, rather than "add it as a peer first".
  const other = (p: Params) => peerKey(ctx.dataDir, p, 'key');
  const ref = (k: Buffer): PeerRef => ({ key: k.toString('hex'), name: peerName(db, k) ?? null });
  // Notes name the peer by its full key, with its name when it has one.
  const label = (k: Buffer) => {
    const name = peerName(db, k);
    return name ? `${name} (${k.toString('hex')})` : k.toString('hex');
  };
  return {
    'peer.add': (p) => {
      const k = parsePublicKey(text(p, 'key')); // a new peer: only its full key will do
      peerKey(ctx.dataDir, { key: k.toString('hex') }, 'key');
      const name = typeof p.name === 'string' ? p.name : typeof p.hostname === 'string' ? uniquePeerName(db, p.hostname) : undefined;
      addPeer(db, k, name);
      ctx.note(`added peer ${k.toString('hex')}${name !== undefined ? ` named ${name}` : ''}`);
      return ref(k);
    },
    'peer.connect': async (p) => {
      const k = other(p);
      if (!ctx.network) throw new BazilError('UNAVAILABLE', 'connecting to a peer needs the server; start it with `bazil server start`');
      const conn = await ctx.network.connection(k);
      return { ...ref(k), address: conn.remoteAddress };
    },
    'pair.volumeSecret': (p) => {
      const volume = getVolume(db, text(p, 'volume'));
      return { sharing: volume.sharingKey, secret: sharingKeySecret(db, volume.sharingKey).toString('base64') };
    },
    'pair.findSharing': (p) => {
      const secret = base64Bytes(p, 'secret');
      return { name: listSharingKeys(db).find((name) => sharingKeySecret(db, name).equals(secret)) ?? null };
    },
    'peer.rename': (p) => {
      const k = key(p);
      const was = peerName(db, k) ?? null;
      const name = typeof p.name === 'string' && p.name !== '' ? p.name : null;
      renamePeer(db, k, name);
      ctx.note(`peer ${k.toString('hex')} ${name === null ? 'has no name now' : `is named ${name}`}`);
      return { ...ref(k), was };
    },
    'peer.remove': (p) => {
      const k = key(p);
      const before = ref(k);
      const shown = label(k);
      removePeer(db, k);
      const closed = ctx.network?.disconnect(k) ?? 0;
      ctx.note(`removed peer ${shown}${closed ? `, closed its ${closed} open connection${closed === 1 ? '' : 's'}` : ''}`);
      return { ...before, closed };
    },
    'peer.list': () => listPeers(db),
    'peer.location.set': (p) => {
      const k = other(p);
      const location = text(p, 'location');
      setPeerLocation(db, k, location);
      ctx.note(`peer ${label(k)} is at ${location}`);
      return ref(k);
    },
    'peer.storage.allow': (p) => {
      const k = other(p);
      const backend = text(p, 'backend');
      allowStorage(db, k, backend);
      ctx.note(`peer ${label(k)} may read storage ${backend}`);
      return ref(k);
    },
    'peer.storage.deny': (p) => {
      const k = key(p);
      const backend = text(p, 'backend');
      denyStorage(db, k, backend);
      ctx.note(`peer ${label(k)} may no longer read storage ${backend}`);
      return ref(k);
    },
    'peer.volume.allow': (p) => {
      const k = other(p);
      const volume = text(p, 'volume');
      allowVolume(db, k, volume);
      ctx.note(`peer ${label(k)} may sync volume ${volume}`);
      return ref(k);
    },
    'peer.volume.deny': (p) => {
      const k = key(p);
      const volume = text(p, 'volume');
      denyVolume(db, k, volume);
      ctx.note(`peer ${label(k)} may no longer sync volume ${volume}`);
      return ref(k);
    },
    'volume.storage.add': async (p) => {
      const volume = text(p, 'volume');
      const typed = text(p, 'backend');
      // peerkey:PEER takes a name or a key prefix too: stored as the full key.
      const peer = typed.startsWith('peerkey:') ? peerKey(ctx.dataDir, { key: typed.slice('peerkey:'.length) }, 'key') : undefined;
      const backend = peer ? `peerkey:${peer.toString('hex')}` : typed;
      addVolumeStorage(db, volume, text(p, 'sharing', DEFAULT_SHARING_KEY), backend);
      ctx.note(`volume ${volume} may fetch content from ${peer ? `peer ${label(peer)}` : backend}`);
      if (!peer || !ctx.network) return {};
      // Whether the peer lets this side read its store: otherwise reads fail later, as a bare EACCES.
      return { grants: await grantsOrNothing(ctx.network, peer, undefined, ctx.log) };
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
