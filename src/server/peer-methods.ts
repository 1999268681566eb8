/**
 * Control-socket methods for peers and grants (the engine side is
 * engine/peer/peers.ts). Keys travel as 64 hex characters.
 *
 *   peer.add             {key}                      -> {}
 *   peer.list            {}                         -> PeerInfo[]
 *   peer.location.set    {key, location: HOST:PORT} -> {}
 *   peer.storage.allow   {key, backend: 'local'}    -> {}
 *   peer.volume.allow    {key, volume}              -> {}
 *   volume.storage.add   {volume, sharing, backend: 'peerkey:HEX' | 'local'} -> {}
 */
import type { Method } from '../engine/control/server.js';
import type { Db } from '../engine/db/open.js';
import {
  addPeer,
  addVolumeStorage,
  allowStorage,
  allowVolume,
  listPeers,
  parsePublicKey,
  setPeerLocation,
} from '../engine/peer/peers.js';
import { DEFAULT_SHARING_KEY } from '../engine/store/sharing.js';
import { text, type Params } from './params.js';

export function peerMethods(ctx: { db: Db; log(line: string): void }): [string, Method][] {
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
