/**
 * What this server answers its peers (the methods are declared in
 * engine/peer/protocol.ts), each request checked against the grants of the
 * peer that asks (proven by the connection's handshake):
 *
 *   volume.info    needs the volume grant
 *   sync.list      needs the volume grant
 *   sync.changed   needs the volume grant, or that the volume was connected from the peer
 *   object.get     needs the storage grant
 *   object.has     needs the storage grant
 *   sync.snapshots needs the volume grant
 *   object.needed  the asker is a store this server reads from (a volume's storage)
 *   grants.mine    nothing: the asker's own grants only (peer-grants.ts)
 *
 * A request about a volume also carries a proof that the asker holds the
 * volume's sharing key (volumeProof, bound to this connection): a grant alone
 * reads nothing. Every param is checked by engine/sync/validate.ts; every
 * refusal is one log line naming the peer and what it was refused, and a
 * peer.refused event.
 */
import { timingSafeEqual } from 'node:crypto';
import { SELF } from '../clock/vector.js';
import { objectIdsParam } from '../cache/has-wire.js';
import type { Holding } from '../cache/where.js';
import type { Db } from '../db/open.js';
import { BazilError, isBazilError } from '../errors.js';
import type { EventLog } from '../events.js';
import type { PeerHandler } from '../peer/connection.js';
import { allStoragePeers, isVolumePeer, mayReadStorage, mayUseVolume, peerLabel } from '../peer/peers.js';
import { peerHandler, type PeerRequest } from '../peer/protocol.js';
import type { ObjectStore } from '../store/objects.js';
import { sharingKeySecret } from '../store/sharing.js';
import { listPage } from '../sync/listing.js';
import { listSnapshotsWire } from '../sync/snapshots.js';
import type { Replicas } from '../sync/replicas.js';
import { cursorParam, dirParam, flagParam, hexParam, volumeNameParam } from '../sync/validate.js';
import { getVolume, sharingKeyCheck, volumeProof, volumeRowId, volumeSecret } from '../tree/volumes.js';
import type { OpenVolume, OpenVolumes } from './open-volumes.js';
import { grantsOf } from './peer-grants.js';

export interface PeerRequestContext {
  db: Db;
  volumes: OpenVolumes;
  objects: ObjectStore;
  replicas: Replicas;
  /** A peer says a volume changed there. */
  changed(volume: OpenVolume, peer: Buffer): void;
  /** Whether the local store holds an object, and keeps it or only caches it (engine/cache). */
  holding(id: Buffer): Holding;
  /** Whether references here still reach these objects (engine/cache/gc.ts). */
  needed(ids: Buffer[]): Promise<boolean[]>;
  /** Asks this server's own sources (other peers) for an object it lacks. */
  forward(id: Buffer, asker: Buffer): Promise<Buffer>;
  events: EventLog;
  log(line: string): void;
}

export function peerRequests(ctx: PeerRequestContext): PeerHandler {
  const ownKey = Buffer.from(ctx.replicas.keyOf(SELF), 'hex');
  const refused = (peer: Buffer, what: string, line: string): void => {
    ctx.log(line);
    ctx.events.emit({ type: 'peer.refused', peer: peer.toString('hex'), what });
  };
  const refuse = (peer: Buffer, what: string, grant: string): BazilError => {
    refused(peer, what, `refused ${what} to peer ${peerLabel(ctx.db, peer)}: no grant; to allow it, run \`${grant}\``);
    return new BazilError('UNAUTHORIZED', `this peer may not ${what} here; on that machine, run \`${grant}\``);
  };
  /**
   * The volume a request names, if the peer may use it (may: has the grant; or,
   * when announcing, is a peer the volume was connected from) and proved it
   * holds the sharing key on this connection.
   */
  const volumeFor = ({ peer, binding, params }: PeerRequest, what: string, announcing = false): OpenVolume => {
    const id = hexParam(params, 'volume');
    const v = ctx.volumes.byId(id);
    if (!v || !(mayUseVolume(ctx.db, peer, v.rowId) || (announcing && isVolumePeer(ctx.db, v.rowId, peer)))) {
      // The peer is told the same for a volume we lack and one it is not granted: its name stays here.
      refused(
        peer,
        `${what} a volume`,
        v
          ? `refused ${what} volume ${v.name} to peer ${peerLabel(ctx.db, peer)}: no grant; to allow it, run \`bazil peer volume allow ${peer.toString('hex')} ${v.name}\``
          : `refused ${what} volume ${id.toString('hex').slice(0, 16)} to peer ${peerLabel(ctx.db, peer)}: no such volume here`,
      );
      throw new BazilError(
        'UNAUTHORIZED',
        `this peer may not ${what} that volume here (it is not granted, or not there); on that machine, run \`bazil peer volume allow ${peer.toString('hex')} VOLUME\``,
      );
    }
    const proof = typeof params.proof === 'string' ? hexParam(params, 'proof') : undefined;
    if (!proof || !timingSafeEqual(proof, volumeProof(volumeSecret(ctx.db, v.rowId), binding, v.volumeId, ownKey))) {
      refused(peer, `${what} a volume without proof of its sharing key`, `refused ${what} volume ${v.name} to peer ${peerLabel(ctx.db, peer)}: it did not prove it holds the volume's sharing key`);
      throw new BazilError('UNAUTHORIZED', `this peer did not prove it holds the sharing key of volume ${id.toString('hex').slice(0, 16)}; connect it with the right key (-sharing=NAME)`);
    }
    return v;
  };

  return peerHandler(
    {
      'volume.info': async ({ peer, params }) => {
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
      'sync.list': async (req) => {
        const dir = dirParam(req.params, 'dir');
        const after = cursorParam(req.params, 'after');
        const v = volumeFor(req, 'sync');
        return { result: listPage(v.tree, ctx.replicas, dir, after) };
      },
      'sync.snapshots': async (req) => ({ result: listSnapshotsWire(ctx.db, volumeFor(req, 'sync').rowId) }),
      'sync.changed': async (req) => {
        ctx.changed(volumeFor(req, 'take change announcements of', true), req.peer);
        return { result: {} };
      },
      'object.get': async ({ peer, params }) => {
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
      'object.has': async ({ peer, params }) => {
        const ids = objectIdsParam(params);
        if (!mayReadStorage(ctx.db, peer)) throw refuse(peer, 'ask what the local store holds', `bazil peer storage allow ${peer.toString('hex')} local`);
        return { result: { held: ids.map((id) => ctx.holding(id)) } };
      },
      'object.needed': async ({ peer, params }) => {
        const ids = objectIdsParam(params);
        // Only a store this server reads from may ask: it is the one that may have told us it keeps them.
        if (!allStoragePeers(ctx.db).some((k) => k.equals(peer))) {
          refused(peer, 'ask which objects are needed', `refused to tell peer ${peerLabel(ctx.db, peer)} which objects are needed: no volume here reads from its store`);
          throw new BazilError('UNAUTHORIZED', 'no volume on this peer reads from your store');
        }
        return { result: { needed: await ctx.needed(ids) } };
      },
      'grants.mine': async ({ peer, params }) => ({ result: grantsOf(ctx.db, peer, params) }),
    },
    ctx.log,
  );
}
