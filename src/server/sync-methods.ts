/**
 * Control methods for syncing (see api.ts for the shapes): connecting a
 * volume that lives on a peer, pulling from a peer now, and listing and
 * resolving conflicts.
 */
import { isAbsolute, relative, sep } from 'node:path';
import type { Method } from '../engine/control/server.js';
import { BazilError } from '../engine/errors.js';
import { connectVolume } from '../engine/node/connect.js';
import { parsePublicKey } from '../engine/peer/peers.js';
import { DEFAULT_SHARING_KEY } from '../engine/store/sharing.js';
import { listConflicts } from '../engine/sync/conflicts.js';
import { resolveConflict, type Choice } from '../engine/sync/resolve.js';
import { listVolumes } from '../engine/tree/volumes.js';
import type { ConflictInfo, VolumeInfo } from './api.js';
import type { MethodContext } from './methods.js';
import { text } from './params.js';

const CHOICES = new Set(['mine', 'theirs', 'both']);

export function syncMethods(ctx: MethodContext): [string, Method][] {
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

  return [
    [
      'volume.connect',
      async (p) => {
        const peer = parsePublicKey(text(p, 'peer'));
        const remoteName = text(p, 'volume');
        const name = text(p, 'name', remoteName);
        const sharing = text(p, 'sharing', DEFAULT_SHARING_KEY);
        const v = await connectVolume({ db, network: ctx.network, volumes: ctx.volumes, scheduler: ctx.scheduler, log: ctx.log }, { peer, remoteName, name, sharing });
        return { name: v.name, sharingKey: v.sharingKey, mounts: [] } satisfies VolumeInfo;
      },
    ],
    [
      'volume.sync',
      async (p) => {
        const v = ctx.volumes.get(text(p, 'volume'));
        return ctx.scheduler.pull(v, parsePublicKey(text(p, 'peer')));
      },
    ],
    [
      'conflicts.list',
      (p) => {
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
    ],
    [
      'conflicts.resolve',
      (p) => {
        const choice = text(p, 'choice');
        if (!CHOICES.has(choice)) throw new BazilError('INVALID_ARGUMENT', `choose --mine, --theirs or --both, not "${choice}"`);
        const { volume, path } = locate(text(p, 'path'));
        const v = ctx.volumes.get(volume);
        const r = resolveConflict({ tree: v.tree, db, volume: v.rowId, path, choice: choice as Choice, isOpen: (ino) => ctx.mounts.isOpen(volume, ino) });
        ctx.log(`resolved the conflict at ${volume}:${path} (${choice})`);
        return { where: where(volume, path), savedAs: r.savedAs && where(volume, r.savedAs) };
      },
    ],
  ];
}
