/** What the server answers on its control socket: one function per method (see api.ts for the shapes). */
import { isAbsolute } from 'node:path';
import type { DataDir } from '../engine/datadir.js';
import type { Method } from '../engine/control/server.js';
import { BazilError } from '../engine/errors.js';
import { addSharingKey, DEFAULT_SHARING_KEY, listSharingKeys } from '../engine/store/sharing.js';
import { listSnapshots } from '../engine/tree/snapshots.js';
import { createVolume, listVolumes } from '../engine/tree/volumes.js';
import type { ServerInfo, VolumeInfo } from './api.js';
import type { Mounts } from './mounts.js';
import { absolutePath, base64Bytes, text } from './params.js';
import { peerMethods } from './peer-methods.js';
import type { OpenVolumes } from '../engine/node/open-volumes.js';
import type { PeerNetwork } from '../engine/peer/network.js';
import type { SyncScheduler } from '../engine/node/sync-scheduler.js';
import { syncMethods } from './sync-methods.js';

export interface MethodContext {
  dataDir: DataDir;
  mounts: Mounts;
  volumes: OpenVolumes;
  scheduler: SyncScheduler;
  network: PeerNetwork;
  info: ServerInfo;
  /** Shuts the server down after the current answer is sent. */
  requestStop(): void;
  log(line: string): void;
}

export function serverMethods(ctx: MethodContext): Map<string, Method> {
  const { db } = ctx.dataDir;
  const volumes = (): VolumeInfo[] => {
    const mounts = ctx.mounts.list();
    const problems = ctx.mounts.problems();
    return listVolumes(db).map((v) => ({
      name: v.name,
      sharingKey: v.sharingKey,
      mounts: mounts.filter((m) => m.volume === v.name).map((m) => m.dir),
      problems: problems.filter((m) => m.volume === v.name),
    }));
  };

  return new Map<string, Method>([
    ['ping', () => ctx.info],
    [
      'stop',
      () => {
        ctx.requestStop();
        return {};
      },
    ],
    [
      'sharing.add',
      (p) => {
        const name = text(p, 'name');
        addSharingKey(db, name, base64Bytes(p, 'secret'));
        ctx.log(`added sharing key ${name}`);
        return {};
      },
    ],
    ['sharing.list', () => listSharingKeys(db)],
    [
      'volume.create',
      (p) => {
        const v = createVolume(db, text(p, 'name'), text(p, 'sharing', DEFAULT_SHARING_KEY));
        ctx.log(`created volume ${v.name} (sharing key ${v.sharingKey})`);
        return { name: v.name, sharingKey: v.sharingKey, mounts: [] } satisfies VolumeInfo;
      },
    ],
    ['volume.list', volumes],
    [
      'volume.mount',
      (p) => ctx.mounts.mount(text(p, 'volume'), absolutePath(p, 'dir')),
    ],
    [
      'volume.unmount',
      (p) => {
        const target = text(p, 'target');
        if (target.includes('/') && !isAbsolute(target)) throw new BazilError('INVALID_ARGUMENT', `"target" must be a volume name or an absolute path, got ${target}`);
        return ctx.mounts.unmount(target, { force: p.force === true, client: typeof p.client === 'number' ? p.client : undefined });
      },
    ],
    ['volume.snapshot', (p) => ctx.mounts.snapshot(text(p, 'volume'), text(p, 'name'))],
    ['volume.snapshot.list', (p) => listSnapshots(db, text(p, 'volume'))],
    ...peerMethods({ db, network: ctx.network, log: ctx.log }),
    ...syncMethods(ctx),
  ]);
}
