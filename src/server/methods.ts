/**
 * What the server answers on its control socket: one function per method of
 * the control API (engine/control/api.ts has the shapes). The methods that
 * need only the data dir are built by dataDirMethods, used both by the server
 * and, in process, by the CLI when no server runs: one implementation of each.
 */
import { isAbsolute } from 'node:path';
import type { ControlApi, MethodTable, MountInfo, ServerInfo, VolumeInfo } from '../engine/control/api.js';
import { LocalControl } from '../engine/control/local.js';
import type { ServerMethods } from '../engine/control/server.js';
import type { DataDir } from '../engine/datadir.js';
import { BazilError } from '../engine/errors.js';
import type { EventLog } from '../engine/events.js';
import { addSharingKey, DEFAULT_SHARING_KEY, listSharingKeys } from '../engine/store/sharing.js';
import { listSnapshots } from '../engine/tree/snapshots.js';
import { createVolume, listVolumes } from '../engine/tree/volumes.js';
import { bazilMountVolume, clearDeadMount, deadMount, forgetMount, isDeadMount, rememberedMounts, type MountProblem } from './mount-points.js';
import type { Mounts } from './mounts.js';
import { absolutePath, base64Bytes, text, type Params } from './params.js';
import { peerMethods, type PeerMethod } from './peer-methods.js';
import { LastSyncs, statusMethod } from './status-method.js';
import type { OpenVolumes } from '../engine/node/open-volumes.js';
import type { PeerNetwork } from '../engine/peer/network.js';
import type { SyncScheduler } from '../engine/node/sync-scheduler.js';
import { syncMethods } from './sync-methods.js';
import { inviteMethods } from './invite-methods.js';
import { cacheMethods } from './cache-methods.js';
import type { Cache } from '../engine/cache/cache.js';
import type { Pins } from '../engine/cache/pins.js';
import type { Discovery } from './discovery.js';
import type { Collector } from '../engine/cache/gc.js';
import { checkMethods } from './check-methods.js';
import { storeMethods, storePushMethods } from './store-methods.js';
import type { StoreSources } from '../engine/node/sources.js';

/** The mounts as a method sees them: those served, and those remembered but not served. */
export interface MountView {
  list(): MountInfo[];
  problems(): MountProblem[];
}

export interface DataDirContext {
  dataDir: DataDir;
  mounts: MountView;
  /** The running server's peer connections; none without a server. */
  network?: Pick<PeerNetwork, 'disconnect' | 'connection' | 'connected'>;
  /** The running server's last syncs; none without a server. */
  lastSyncs?: LastSyncs;
  log(line: string): void;
  /** For a line that repeats what the client asked for and prints itself (added peer X): see ServerOptions.note. */
  note(line: string): void;
}

/** The methods that work on a data dir alone (through the server when one runs, else in process). */
export type DataDirMethod = 'sharing.add' | 'sharing.list' | 'volume.create' | 'volume.list' | 'volume.snapshot.list' | PeerMethod | 'status' | 'store.list' | 'store.add' | 'store.locate';

export function dataDirMethods(ctx: DataDirContext): MethodTable<DataDirMethod> {
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
  const server = ctx.network && ctx.lastSyncs && { network: ctx.network, lastSyncs: ctx.lastSyncs };
  const peers = peerMethods({ dataDir: ctx.dataDir, network: ctx.network, log: ctx.log, note: ctx.note });
  return {
    'sharing.add': (p) => {
      const name = text(p, 'name');
      addSharingKey(db, name, base64Bytes(p, 'secret'));
      ctx.note(`added sharing key ${name}`);
      return {};
    },
    'sharing.list': () => listSharingKeys(db),
    'volume.create': (p) => {
      const v = createVolume(db, text(p, 'name'), text(p, 'sharing', DEFAULT_SHARING_KEY));
      ctx.note(`created volume ${v.name} (sharing key ${v.sharingKey})`);
      return { name: v.name, sharingKey: v.sharingKey, mounts: [] };
    },
    'volume.list': volumes,
    'volume.snapshot.list': (p) => listSnapshots(db, text(p, 'volume')),
    ...peers,
    // volume.storage.add of a store (dir:, sftp://) is the store methods'; of a peer, the peer methods'.
    ...storeMethods(ctx, peers['volume.storage.add']),
    ...statusMethod({ dataDir: ctx.dataDir, volumes, server }),
  };
}

export interface MethodContext extends DataDirContext {
  mounts: Mounts;
  volumes: OpenVolumes;
  scheduler: SyncScheduler;
  network: PeerNetwork;
  events: EventLog;
  cache: Cache;
  pins: Pins;
  collector: Collector;
  /** The remote stores volumes fetch content from (opened once). */
  stores: StoreSources;
  info: ServerInfo;
  /** LAN discovery; none when turned off. */
  discovery?: Pick<Discovery, 'nearby' | 'mdns'>;
  /** Shuts the server down after the current answer is sent. */
  requestStop(): void;
}

export function serverMethods(ctx: MethodContext): ServerMethods {
  // Invites introduce peers through this same table, called in process (as the CLI calls it over the socket).
  const self = (): ControlApi => new LocalControl(methods, (m) => new BazilError('INTERNAL', `${m} is not a method of this server`));
  const methods: ServerMethods = {
    ...dataDirMethods({ ...ctx, lastSyncs: new LastSyncs(ctx.events) }),
    ping: () => ctx.info,
    stop: () => {
      ctx.requestStop();
      return {};
    },
    'volume.mount': async (p) => {
      const m = await ctx.mounts.mount(text(p, 'volume'), absolutePath(p, 'dir'));
      if (!m.already) ctx.events.emit({ type: 'mount.added', volume: m.volume, dir: m.dir });
      return m;
    },
    'volume.unmount': async (p) => {
      const m = await ctx.mounts.unmount(unmountTarget(p), { force: p.force === true, client: typeof p.client === 'number' ? p.client : undefined });
      if (!m.forgotten) ctx.events.emit({ type: 'mount.removed', volume: m.volume, dir: m.dir });
      return m;
    },
    'volume.snapshot': (p) => ctx.mounts.snapshot(text(p, 'volume'), text(p, 'name')),
    ...syncMethods(ctx),
    ...cacheMethods(ctx),
    'peer.nearby': () => {
      if (!ctx.discovery) {
        throw new BazilError('UNAVAILABLE', 'LAN discovery is off on this server (--no-discovery or BAZIL_DISCOVERY=0); restart it without either to see nearby devices');
      }
      return ctx.discovery.nearby();
    },
    ...inviteMethods(ctx, self),
    ...checkMethods(ctx),
    ...storePushMethods(ctx),
  };
  return methods;
}

/**
 * The methods the CLI calls in process when no server runs: the data dir's,
 * and unmount for what a server left. needsServer: the error for the rest.
 */
export function offlineMethods(dataDir: DataDir, needsServer: () => BazilError): Partial<MethodTable> {
  const { db } = dataDir;
  const mounts: MountView = {
    list: () => [],
    // No server: the only mounts left are dead ones.
    problems: () => rememberedMounts(db).filter((r) => isDeadMount(r.dir)).map(deadMount),
  };
  return {
    ...dataDirMethods({ dataDir, mounts, log: () => {}, note: () => {} }),
    // Without a server, a dead mount is cleared and a remembered one forgotten; anything else needs the server.
    'volume.unmount': async (p) => {
      const target = unmountTarget(p);
      const remembered = rememberedMounts(db).find((r) => r.volume === target || r.dir === target);
      if (remembered) {
        const dead = isDeadMount(remembered.dir);
        if (dead) await clearDeadMount(remembered.dir);
        forgetMount(db, remembered.dir);
        return { ...remembered, dead, forgotten: !dead };
      }
      // A dead bazil mount this data dir does not remember (another data dir's, or older).
      const volume = isAbsolute(target) && isDeadMount(target) ? bazilMountVolume(target) : undefined;
      if (volume === undefined) throw needsServer();
      await clearDeadMount(target);
      return { volume, dir: target, dead: true };
    },
  };
}

function unmountTarget(p: Params): string {
  const target = text(p, 'target');
  if (target.includes('/') && !isAbsolute(target)) throw new BazilError('INVALID_ARGUMENT', `"target" must be a volume name or an absolute path, got ${target}`);
  return target;
}
