/**
 * What this server answers its peers, each request checked against the
 * grants of the peer that asks (proven by the connection's handshake):
 *
 *   volume.info   {name}            -> {volumeId, keyCheck}   needs the volume grant
 *   sync.list     {volume, path}    -> WireListing            needs the volume grant
 *   sync.changed  {volume}          -> {}                     (a hint: pull from me)
 *   object.get    {id, forward?}    -> {} + the object's bytes  needs the storage grant
 *
 * Volumes are named by their id (hex) everywhere but in volume.info, which
 * is how a peer that only knows the name learns the id.
 */
import type { Db } from '../engine/db/open.js';
import { BazilError, isBazilError } from '../engine/errors.js';
import type { PeerHandler } from '../engine/peer/connection.js';
import { shortKey } from '../engine/peer/handshake.js';
import { mayReadStorage, mayUseVolume } from '../engine/peer/peers.js';
import type { ObjectStore } from '../engine/store/objects.js';
import { sharingKeySecret } from '../engine/store/sharing.js';
import { listDir } from '../engine/sync/listing.js';
import type { Replicas } from '../engine/sync/replicas.js';
import { getVolume, sharingKeyCheck, volumeRowId } from '../engine/tree/volumes.js';
import type { OpenVolume, OpenVolumes } from './open-volumes.js';

export interface PeerRequestContext {
  db: Db;
  volumes: OpenVolumes;
  objects: ObjectStore;
  replicas: Replicas;
  /** A peer says a volume changed there. */
  changed(volume: OpenVolume, peer: Buffer): void;
  /** Asks this server's own sources (other peers) for an object it lacks. */
  forward(id: Buffer, asker: Buffer): Promise<Buffer>;
  log(line: string): void;
}

const ID = /^[0-9a-f]{64}$/;

function param(params: Record<string, unknown>, name: string, pattern?: RegExp): string {
  const value = params[name];
  if (typeof value !== 'string' || value === '' || (pattern && !pattern.test(value))) {
    throw new BazilError('INVALID_ARGUMENT', `the request needs "${name}"${pattern ? ' in the right form' : ''}`);
  }
  return value;
}

export function peerRequests(ctx: PeerRequestContext): PeerHandler {
  const refuse = (peer: Buffer, what: string, grant: string): BazilError => {
    ctx.log(`refused ${what} to peer ${shortKey(peer)}: no grant; to allow it, run \`${grant}\``);
    return new BazilError('UNAUTHORIZED', `this peer may not ${what} here; on that machine, run \`${grant}\``);
  };
  const volumeFor = (peer: Buffer, params: Record<string, unknown>): OpenVolume => {
    const id = param(params, 'volume', ID);
    const v = ctx.volumes.byId(Buffer.from(id, 'hex'));
    if (!v || !mayUseVolume(ctx.db, peer, v.rowId)) {
      // An unknown volume and one not granted look the same to the peer.
      throw refuse(peer, `sync volume ${v?.name ?? id.slice(0, 16)}`, `bazil peer volume allow ${peer.toString('hex')} ${v?.name ?? 'VOLUME'}`);
    }
    return v;
  };

  const methods: Record<string, (peer: Buffer, params: Record<string, unknown>) => Promise<{ result: unknown; body?: Buffer }>> = {
    'volume.info': async (peer, params) => {
      const name = param(params, 'name');
      let rowId: number | undefined;
      try {
        rowId = volumeRowId(ctx.db, name);
      } catch (err) {
        if (!isBazilError(err, 'NOT_FOUND')) throw err;
      }
      if (rowId === undefined || !mayUseVolume(ctx.db, peer, rowId)) {
        throw refuse(peer, `use volume ${name}`, `bazil peer volume allow ${peer.toString('hex')} ${name}`);
      }
      const volume = getVolume(ctx.db, name);
      const keyCheck = sharingKeyCheck(sharingKeySecret(ctx.db, volume.sharingKey), volume.volumeId);
      return { result: { volumeId: volume.volumeId.toString('hex'), keyCheck: keyCheck.toString('hex') } };
    },
    'sync.list': async (peer, params) => {
      const v = volumeFor(peer, params);
      return { result: listDir(v.tree, ctx.replicas, param(params, 'path')) };
    },
    'sync.changed': async (peer, params) => {
      const v = volumeFor(peer, params);
      ctx.changed(v, peer);
      return { result: {} };
    },
    'object.get': async (peer, params) => {
      if (!mayReadStorage(ctx.db, peer)) throw refuse(peer, 'read the local store', `bazil peer storage allow ${peer.toString('hex')} local`);
      const id = Buffer.from(param(params, 'id', ID), 'hex');
      try {
        return { result: {}, body: await ctx.objects.get(id) };
      } catch (err) {
        // Content this server has not fetched yet may be on its own peers (a chain a -> b -> c).
        if (!isBazilError(err, 'NOT_FOUND') || params.forward === false) throw err;
        return { result: {}, body: await ctx.forward(id, peer) };
      }
    },
  };

  return async ({ peer, method, params }) => {
    const fn = methods[method];
    if (!fn) throw new BazilError('INVALID_ARGUMENT', `unknown request "${method}"`);
    return fn(peer, params);
  };
}
