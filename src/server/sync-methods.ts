/**
 * Control methods for syncing (see engine/control/api.ts for the shapes):
 * connecting a volume that lives on a peer, pulling from a peer now, listing
 * and resolving conflicts, and what peers are connected and grant here.
 */
import type { ConflictInfo, MethodTable } from '../engine/control/api.js';
import { BazilError, isBazilError } from '../engine/errors.js';
import { showName } from '../engine/names.js';
import { connectVolume, differentVolumes, theirVolumeId } from '../engine/node/connect.js';
import { askGrants } from '../engine/node/peer-grants.js';
import { listPeers } from '../engine/peer/peers.js';
import { DEFAULT_SHARING_KEY } from '../engine/store/sharing.js';
import { conflictVersions } from '../engine/sync/conflict-view.js';
import { listConflicts } from '../engine/sync/conflicts.js';
import { resolveConflict, type Choice } from '../engine/sync/resolve.js';
import { listVolumes } from '../engine/tree/volumes.js';
import type { MethodContext } from './methods.js';
import { text } from './params.js';
import { locateInVolumes } from './volume-paths.js';
import { grantsOrNothing, peerKey } from './peer-methods.js';

const CHOICES = new Set(['mine', 'theirs', 'both']);

type SyncMethod = 'volume.connect' | 'volume.sync' | 'conflicts.list' | 'conflicts.show' | 'conflicts.resolve' | 'peer.connected' | 'peer.grants';

export function syncMethods(ctx: MethodContext): MethodTable<SyncMethod> {
  const { db } = ctx.dataDir;

  /** Where a volume path shows: in its mount if mounted, else VOLUME:/path. */
  const where = (volume: string, path: string): string => {
    const m = ctx.mounts.list().find((x) => x.volume === volume);
    return m ? `${m.dir}${path === '/' ? '' : path}` : `${volume}:${path}`;
  };

  /** A conflict's place from what the user typed: a path inside a mount, or VOLUME:/path. */
  const locate = (target: string) => locateInVolumes(ctx.mounts.list(), target);

  return {
    'volume.connect': async (p) => {
      const peer = peerKey(ctx.dataDir, p, 'peer');
      const remoteName = text(p, 'volume');
      const sharing = text(p, 'sharing', DEFAULT_SHARING_KEY);
      const v = await connectVolume({ ...ctx, db }, { peer, remoteName, name: text(p, 'name', remoteName), sharing });
      return { name: v.name, sharingKey: v.sharingKey, mounts: [], grants: await grantsOrNothing(ctx.network, peer, remoteName, ctx.log) };
    },
    'volume.sync': async (p) => {
      const v = ctx.volumes.get(text(p, 'volume'));
      const peer = peerKey(ctx.dataDir, p, 'peer');
      try {
        return await ctx.scheduler.pull(v, peer);
      } catch (err) {
        // Refused: maybe not for want of a grant, but because theirs is another volume of the same name.
        if (!isBazilError(err, 'UNAUTHORIZED')) throw err;
        const theirs = await theirVolumeId(await ctx.network.connection(peer), v.name).catch(() => undefined);
        if (theirs !== undefined && theirs !== v.volumeId.toString('hex')) throw differentVolumes(v.name, peer, listVolumes(db).find((x) => x.name === v.name)?.sharingKey ?? DEFAULT_SHARING_KEY);
        throw err;
      }
    },
    'conflicts.list': (p) => {
      const names = new Map(listVolumes(db).map((v) => [ctx.volumes.get(v.name).rowId, v.name]));
      let volume: number | undefined;
      if (p.volume !== undefined) volume = ctx.volumes.get(text(p, 'volume')).rowId;
      return listConflicts(db, volume, p.all === true).map((c): ConflictInfo => {
        const vname = names.get(c.volume) ?? '?';
        return {
          volume: vname,
          path: c.path,
          where: where(vname, c.path),
          peer: c.peer,
          peerName: c.peerName,
          theirs: c.theirs.kind === 'deleted' ? 'deleted' : `${c.theirs.kind}, ${c.theirs.size} bytes, modified ${new Date(c.theirs.mtime).toISOString()}`,
          localDeleted: c.localDeleted,
          createdAt: c.createdAt,
          resolution: c.resolution,
        };
      });
    },
    'conflicts.show': (p) => {
      const { volume, path } = locate(text(p, 'path'));
      return conflictVersions(db, ctx.volumes.get(volume), path);
    },
    'conflicts.resolve': (p) => {
      const choice = text(p, 'choice');
      if (!CHOICES.has(choice)) throw new BazilError('INVALID_ARGUMENT', `choose --mine, --theirs or --both, not "${choice}"`);
      const { volume, path } = locate(text(p, 'path'));
      const v = ctx.volumes.get(volume);
      const r = resolveConflict({ tree: v.tree, db, volume: v.rowId, path, choice: choice as Choice, isOpen: (ino) => ctx.mounts.isOpen(volume, ino) });
      ctx.note(`resolved the conflict at ${volume}:${showName(path)} (${choice})`);
      ctx.events.emit({ type: 'conflict.resolved', volume, path, choice });
      return { where: where(volume, path), savedAs: r.savedAs && where(volume, r.savedAs) };
    },
    'peer.connected': () => listPeers(db).map((x) => x.publicKey).filter((k) => ctx.network.connected(Buffer.from(k, 'hex')) !== undefined),
    'peer.grants': async (p) => {
      const peer = peerKey(ctx.dataDir, p, 'key');
      return askGrants(await ctx.network.connection(peer), p.volume === undefined ? undefined : text(p, 'volume'));
    },
  };
}
