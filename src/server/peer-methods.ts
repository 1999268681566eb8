/**
 * Control-socket methods for peers and grants (the engine side is
 * engine/peer/peers.ts). Keys travel as 64 hex characters.
 *
 *   peer.add             {key}                      -> {}
 *   peer.remove          {key}                      -> {closed: number of its connections closed}
 *   peer.list            {}                         -> PeerInfo[]
 *   peer.location.set    {key, location: HOST:PORT} -> {}
 *   peer.storage.allow   {key, backend: 'local'}    -> {}
 *   peer.storage.deny    {key, backend: 'local'}    -> {}
 *   peer.volume.allow    {key, volume}              -> {}
 *   peer.volume.deny     {key, volume}              -> {}
 *   volume.storage.add   {volume, sharing, backend: 'peerkey:HEX' | 'local'} -> {}
 *
 * A removal or a deny holds at once: grants are checked on every request a
 * peer makes, and a removed peer's open connections are closed.
 */
import type { Method } from '../engine/control/server.js';
import type { Db } from '../engine/db/open.js';
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
import type { PeerNetwork } from '../engine/peer/network.js';

export function peerMethods(ctx: { db: Db; network: Pick<PeerNetwork, 'disconnect'>; log(line: string): void }): [string, Method][] {
  const { db } = ctx;
  const key = (p: Params) => parsePublicKey(text(p, 'key'));
  return [
    [
      'peer.add',
      (p) => {
        const k = key(p);
        addPeer(db, k);
        ctx.log(`added peer ${k.toString('hex')}`);
        return {};
      },
    ],
    [
      'peer.remove',
      (p) => {
        const k = key(p);
        removePeer(db, k);
        const closed = ctx.network.disconnect(k);
        ctx.log(`removed peer ${k.toString('hex')}${closed ? `, closed its ${closed} open connection${closed === 1 ? '' : 's'}` : ''}`);
        return { closed };
      },
    ],
    ['peer.list', () => listPeers(db)],
    [
      'peer.location.set',
      (p) => {
        const k = key(p);
        const location = text(p, 'location');
        setPeerLocation(db, k, location);
        ctx.log(`peer ${k.toString('hex')} is at ${location}`);
        return {};
      },
    ],
    [
      'peer.storage.allow',
      (p) => {
        const k = key(p);
        const backend = text(p, 'backend');
        allowStorage(db, k, backend);
        ctx.log(`peer ${k.toString('hex')} may read storage ${backend}`);
        return {};
      },
    ],
    [
      'peer.storage.deny',
      (p) => {
        const k = key(p);
        const backend = text(p, 'backend');
        denyStorage(db, k, backend);
        ctx.log(`peer ${k.toString('hex')} may no longer read storage ${backend}`);
        return {};
      },
    ],
    [
      'peer.volume.allow',
      (p) => {
        const k = key(p);
        const volume = text(p, 'volume');
        allowVolume(db, k, volume);
        ctx.log(`peer ${k.toString('hex')} may sync volume ${volume}`);
        return {};
      },
    ],
    [
      'peer.volume.deny',
      (p) => {
        const k = key(p);
        const volume = text(p, 'volume');
        denyVolume(db, k, volume);
        ctx.log(`peer ${k.toString('hex')} may no longer sync volume ${volume}`);
        return {};
      },
    ],
    [
      'volume.storage.add',
      (p) => {
        const volume = text(p, 'volume');
        const backend = text(p, 'backend');
        addVolumeStorage(db, volume, text(p, 'sharing', DEFAULT_SHARING_KEY), backend);
        ctx.log(`volume ${volume} may fetch content from ${backend}`);
        return {};
      },
    ],
  ];
}
