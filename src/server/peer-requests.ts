/**
 * What this server answers its peers, each request checked against the
 * grants of the peer that asks (proven by the connection's handshake):
 *
 *   volume.info   {name}                           -> {volumeId, keyCheck}  needs the volume grant
 *   sync.list     {volume, proof, dir?, after?}    -> WirePage              needs the volume grant
 *   sync.changed  {volume, proof}                  -> {}   (a hint: pull from me)  needs the volume
 *                                                    grant, or that the volume was connected from the peer
 *   object.get    {id, forward?}                   -> {kept} + the object's bytes  needs the storage grant
 *   object.has    {ids}                            -> {held}  (engine/cache/has-wire.ts)  needs the storage grant
 *
 * Volumes are named by their id (hex) everywhere but in volume.info, which
 * is how a peer that only knows the name learns the id. A request about a
 * volume also carries a proof that the asker holds the volume's sharing key
 * (volumeProof, bound to this connection): a grant alone reads nothing.
 * Every param is checked by engine/sync/validate.ts; every refusal is one
 * log line naming the peer and what it was refused.
 */
import { timingSafeEqual } from 'node:crypto';
import { SELF } from '../engine/clock/vector.js';
import type { Db } from '../engine/db/open.js';
import { BazilError, isBazilError } from '../engine/errors.js';
import type { PeerHandler } from '../engine/peer/connection.js';
import { shortKey } from '../engine/peer/handshake.js';
import { mayReadStorage, mayUseVolume } from '../engine/peer/peers.js';
import { objectIdsParam } from '../engine/cache/has-wire.js';
import type { Holding } from '../engine/cache/where.js';
import type { ObjectStore } from '../engine/store/objects.js';
import { sharingKeySecret } from '../engine/store/sharing.js';
import { listPage } from '../engine/sync/listing.js';
import type { Replicas } from '../engine/sync/replicas.js';
import { cursorParam, dirParam, flagParam, hexParam, volumeNameParam } from '../engine/sync/validate.js';
import { getVolume, sharingKeyCheck, volumeProof, volumeRowId, volumeSecret } from '../engine/tree/volumes.js';
import type { OpenVolume, OpenVolumes } from './open-volumes.js';

export interface PeerRequestContext {
  db: Db;
  volumes: OpenVolumes;
  objects: ObjectStore;
  replicas: Replicas;
  /** A peer says a volume changed there. */
  changed(volume: OpenVolume, peer: Buffer): void;
  /** Whether the local store holds an object, and keeps it or only caches it (engine/cache). */
  holding(id: Buffer): Holding;
  /** Asks this server's own sources (other peers) for an object it lacks. */
  forward(id: Buffer, asker: Buffer): Promise<Buffer>;
  log(line: string): void;
}

type Request = Parameters<PeerHandler>[0];
type Method = (req: Request) => Promise<{ result: unknown; body?: Buffer }>;

export function peerRequests(ctx: PeerRequestContext): PeerHandler {
  const ownKey = Buffer.from(ctx.replicas.keyOf(SELF), 'hex');
  const refuse = (peer: Buffer, what: string, grant: string): BazilError => {
    ctx.log(`refused ${what} to peer ${shortKey(peer)}: no grant; to allow it, run \`${grant}\``);
    return new BazilError('UNAUTHORIZED', `this peer may not ${what} here; on that machine, run \`${grant}\``);
  };
  const isSyncPeer = (rowId: number, peer: Buffer): boolean =>
    ctx.db.prepare('SELECT 1 FROM volume_peers WHERE volume = ? AND peer = ?').get(rowId, peer) !== undefined;

  /**
   * The volume a request names, if the peer may use it (may: has the grant; or,
   * when announcing, is a peer the volume was connected from) and proved it
   * holds the sharing key on this connection.
   */
  const volumeFor = ({ peer, binding, params }: Request, what: string, announcing = false): OpenVolume => {
    const id = hexParam(params, 'volume');
    const v = ctx.volumes.byId(id);
    if (!v || !(mayUseVolume(ctx.db, peer, v.rowId) || (announcing && isSyncPeer(v.rowId, peer)))) {
      // The peer is told the same for a volume we lack and one it is not granted: its name stays here.
      ctx.log(
        v
          ? `refused ${what} volume ${v.name} to peer ${shortKey(peer)}: no grant; to allow it, run \`bazil peer volume allow ${peer.toString('hex')} ${v.name}\``
          : `refused ${what} volume ${id.toString('hex').slice(0, 16)} to peer ${shortKey(peer)}: no such volume here`,
      );
      throw new BazilError(
        'UNAUTHORIZED',
        `this peer may not ${what} that volume here (it is not granted, or not there); on that machine, run \`bazil peer volume allow ${peer.toString('hex')} VOLUME\``,
      );
    }
    const proof = typeof params.proof === 'string' ? hexParam(params, 'proof') : undefined;
    if (!proof || !timingSafeEqual(proof, volumeProof(volumeSecret(ctx.db, v.rowId), binding, v.volumeId, ownKey))) {
      ctx.log(`refused ${what} volume ${v.name} to peer ${shortKey(peer)}: it did not prove it holds the volume's sharing key`);
      throw new BazilError('UNAUTHORIZED', `this peer did not prove it holds the sharing key of volume ${id.toString('hex').slice(0, 16)}; connect it with the right key (-sharing=NAME)`);
    }
    return v;
  };

  // A Map: a method name a peer sends is never looked up on an object's prototype.
  const methods = new Map<string, Method>([
    [
      'volume.info',
      async ({ peer, params }) => {
        const name = volumeNameParam(params, 'name');
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
    ],
    [
      'sync.list',
      async (req) => {
        const dir = dirParam(req.params, 'dir');
        const after = cursorParam(req.params, 'after');
        const v = volumeFor(req, 'sync');
        return { result: listPage(v.tree, ctx.replicas, dir, after) };
      },
    ],
    [
      'sync.changed',
      async (req) => {
        ctx.changed(volumeFor(req, 'take change announcements of', true), req.peer);
        return { result: {} };
      },
    ],
    [
      'object.get',
      async ({ peer, params }) => {
        const id = hexParam(params, 'id');
        const forward = flagParam(params, 'forward');
        if (!mayReadStorage(ctx.db, peer)) throw refuse(peer, 'read the local store', `bazil peer storage allow ${peer.toString('hex')} local`);
        try {
          const body = await ctx.objects.get(id);
          return { result: { kept: ctx.holding(id) === 'kept' }, body };
        } catch (err) {
          // Content this server has not fetched yet may be on its own peers (a chain a -> b -> c).
          if (!isBazilError(err, 'NOT_FOUND') || forward === false) throw err;
          return { result: { kept: false }, body: await ctx.forward(id, peer) };
        }
      },
    ],
    [
      'object.has',
      async ({ peer, params }) => {
        const ids = objectIdsParam(params);
        if (!mayReadStorage(ctx.db, peer)) throw refuse(peer, 'ask what the local store holds', `bazil peer storage allow ${peer.toString('hex')} local`);
        return { result: { held: ids.map((id) => ctx.holding(id)) } };
      },
    ],
  ]);

  return async (req) => {
    const fn = methods.get(req.method);
    try {
      if (!fn) throw new BazilError('INVALID_ARGUMENT', `unknown request "${String(req.method).slice(0, 40)}"`);
      if (!req.params || typeof req.params !== 'object' || Array.isArray(req.params)) throw new BazilError('INVALID_ARGUMENT', 'the request\'s params must be an object');
      return await fn(req);
    } catch (err) {
      if (isBazilError(err, 'INVALID_ARGUMENT')) ctx.log(`refused a request from peer ${shortKey(req.peer)}: ${err.message}`);
      throw err;
    }
  };
}
