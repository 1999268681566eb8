/**
 * Control methods for syncing (see engine/control/api.ts for the shapes):
 * connecting a volume that lives on a peer, pulling from a peer now, listing
 * and resolving conflicts, and what peers are connected and grant here.
 */
import { isAbsolute, relative, sep } from 'node:path';
import type { ConflictInfo, MethodTable } from '../engine/control/api.js';
import { BazilError, isBazilError } from '../engine/errors.js';
import type { PeerConnection } from '../engine/peer/connection.js';
import { shortKey } from '../engine/peer/handshake.js';
import { addVolumePeer, listPeers } from '../engine/peer/peers.js';
import { DEFAULT_SHARING_KEY, sharingKeySecret } from '../engine/store/sharing.js';
import { listConflicts } from '../engine/sync/conflicts.js';
import { resolveConflict, type Choice } from '../engine/sync/resolve.js';
import { readVolumeInfo } from '../engine/sync/validate.js';
import { createVolume, listVolumes, sharingKeyCheck } from '../engine/tree/volumes.js';
import type { MethodContext } from './methods.js';
import { text } from './params.js';
import { askGrants } from './peer-grants.js';
import { grantsOrNothing, peerKey } from './peer-methods.js';

const CHOICES = new Set(['mine', 'theirs', 'both']);

type SyncMethod = 'volume.connect' | 'volume.sync' | 'conflicts.list' | 'conflicts.resolve' | 'peer.connected' | 'peer.grants';

/** The volume a peer has under a name, by id (hex), or undefined when it does not let this side see it. */
async function theirVolumeId(conn: PeerConnection, name: string): Promise<string | undefined> {
  try {
    const { result } = await conn.call('volume.info', { name }, undefined, 30_000);
    return readVolumeInfo(result).volumeId.toString('hex');
  } catch (err) {
    if (isBazilError(err, 'UNAUTHORIZED')) return undefined;
    throw err;
  }
}

/** Two volumes that share a name but not an id: say so, and how to connect theirs. */
function differentVolumes(name: string, peer: Buffer, sharing: string): BazilError {
  return new BazilError(
    'CONFLICT',
    `volume ${name} here and volume ${name} on peer ${shortKey(peer)} are different volumes that happen to share a name (each was created on its own), so they do not sync; ` +
      `to get theirs, connect it under another name: \`bazil volume connect -sharing=${sharing} ${peer.toString('hex')} ${name} ${name}-${peer.toString('hex').slice(0, 8)}\``,
  );
}

export function syncMethods(ctx: MethodContext): MethodTable<SyncMethod> {
  const { db } = ctx.dataDir;

  /** Where a volume path shows: in its mount if mounted, else VOLUME:/path. */
  const where = (volume: string, path: string): string => {
    const m = ctx.mounts.list().find((x) => x.volume === volume);
    return m ? `${m.dir}${path === '/' ? '' : path}` : `${volume}:${path}`;
  };

  /** A conflict's place from what the user typed: a path inside a mount, or VOLUME:/path. */
  const locate = (target: string): { volume: string; path: string } => {
    const named = /^([^/:]+):(\/.*)$/.exec(target);
    if (named) return { volume: named[1], path: named[2] };
    if (!isAbsolute(target)) throw new BazilError('INVALID_ARGUMENT', `"${target}" must be an absolute path inside a mount, or VOLUME:/path`);
    for (const m of ctx.mounts.list()) {
      const rel = relative(m.dir, target);
      if (rel === '' || (!rel.startsWith('..') && !isAbsolute(rel))) return { volume: m.volume, path: `/${rel.split(sep).filter(Boolean).join('/')}` };
    }
    throw new BazilError('NOT_FOUND', `${target} is not inside a mounted volume; name it as VOLUME:/path instead (see \`bazil conflicts list\`)`);
  };

  return {
    'volume.connect': async (p) => {
      const peer = peerKey(ctx.dataDir, p, 'peer');
      const remoteName = text(p, 'volume');
      const name = text(p, 'name', remoteName);
      const sharing = text(p, 'sharing', DEFAULT_SHARING_KEY);
      const secret = sharingKeySecret(db, sharing); // NOT_FOUND, saying how to add it, before any network
      const conn = await ctx.network.connection(peer);
      const { result } = await conn.call('volume.info', { name: remoteName }, undefined, 30_000);
      const { volumeId, keyCheck } = readVolumeInfo(result);
      if (!sharingKeyCheck(secret, volumeId).equals(keyCheck)) {
        throw new BazilError(
          'UNAUTHORIZED',
          `the sharing key "${sharing}" is not the key volume ${remoteName} uses on peer ${shortKey(peer)}; copy the right key from there and add it with \`bazil sharing add NAME <KEYFILE\`, then connect with -sharing=NAME`,
        );
      }
      const same = listVolumes(db).find((v) => v.name === name);
      if (same && !ctx.volumes.get(name).volumeId.equals(volumeId)) throw differentVolumes(name, peer, sharing);
      const v = createVolume(db, name, sharing, volumeId);
      const opened = ctx.volumes.get(v.name);
      addVolumePeer(db, opened.rowId, peer);
      ctx.note(`connected volume ${v.name} to ${remoteName} on peer ${shortKey(peer)}`);
      // Get its files now; the user need not wait for it.
      ctx.scheduler.pull(opened, peer).catch((err) => ctx.log(`first sync of ${v.name} from ${shortKey(peer)} failed: ${(err as Error).message}`));
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
          theirs: c.theirs.kind === 'deleted' ? 'deleted' : `${c.theirs.kind}, ${c.theirs.size} bytes, modified ${new Date(c.theirs.mtime).toISOString()}`,
          localDeleted: c.localDeleted,
          createdAt: c.createdAt,
          resolution: c.resolution,
        };
      });
    },
    'conflicts.resolve': (p) => {
      const choice = text(p, 'choice');
      if (!CHOICES.has(choice)) throw new BazilError('INVALID_ARGUMENT', `choose --mine, --theirs or --both, not "${choice}"`);
      const { volume, path } = locate(text(p, 'path'));
      const v = ctx.volumes.get(volume);
      const r = resolveConflict({ tree: v.tree, db, volume: v.rowId, path, choice: choice as Choice, isOpen: (ino) => ctx.mounts.isOpen(volume, ino) });
      ctx.note(`resolved the conflict at ${volume}:${path} (${choice})`);
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
