import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { BazilError, isBazilError, isErrno } from '../engine/errors.js';
import { DEFAULT_SHARING_KEY } from '../engine/store/sharing.js';
import { listSnapshots } from '../engine/tree/snapshots.js';
import { createVolume, listVolumes } from '../engine/tree/volumes.js';
import type { MountInfo, SnapshotInfo, VolumeInfo } from '../server/api.js';
import type { Command } from './command.js';
import { viaServerOrDataDir, withServer } from './use-datadir.js';

const NEEDS_SERVER = 'Needs the bazil server: start it with `bazil server run &`.';

/** A directory argument, as an absolute path; a clear message when it is missing or not a directory. */
function existingDir(arg: string): string {
  const dir = resolve(arg);
  let isDir: boolean;
  try {
    isDir = statSync(dir).isDirectory();
  } catch (err) {
    if (isErrno(err, 'ENOENT')) throw new BazilError('NOT_FOUND', `${dir} does not exist; make it with \`mkdir ${arg}\`, then mount again`);
    if (isErrno(err, 'ENOTCONN')) return dir; // a mount left by a server that was killed: the server clears it
    throw err;
  }
  if (!isDir) throw new BazilError('INVALID_ARGUMENT', `${dir} is not a directory; mount the volume on an empty directory`);
  return dir;
}

function isDir(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

export const volumeCommands: Command[] = [
  {
    path: ['volume', 'create'],
    summary: 'Create a volume, encrypted under a sharing key',
    usage: '[-sharing=NAME] NAME',
    options: [{ name: 'sharing', type: 'string', value: 'NAME', help: 'sharing key to encrypt the volume with', default: DEFAULT_SHARING_KEY }],
    examples: ['bazil volume create photos', 'bazil volume create -sharing=friends myfiles'],
    args: [1, 1],
    async run({ dataDir, args, flags }) {
      const [name, sharing] = [args[0], flags.sharing as string];
      const volume = await viaServerOrDataDir(
        dataDir,
        true,
        (server) => server.call<VolumeInfo>('volume.create', { name, sharing }),
        (dir): VolumeInfo => ({ ...createVolume(dir.db, name, sharing), mounts: [] }),
      );
      process.stdout.write(`Created volume ${volume.name} (sharing key ${volume.sharingKey}).\n`);
    },
  },
  {
    path: ['volume', 'list'],
    summary: 'List volumes, the sharing key of each, and where they are mounted',
    usage: '',
    details: 'One line per volume: NAME, sharing=KEY, then mounted=DIR for each mount point.',
    examples: ['bazil volume list'],
    args: [0, 0],
    async run({ dataDir }) {
      const volumes = await viaServerOrDataDir(
        dataDir,
        false,
        (server) => server.call<VolumeInfo[]>('volume.list'),
        (dir): VolumeInfo[] => listVolumes(dir.db).map((v) => ({ name: v.name, sharingKey: v.sharingKey, mounts: [] })),
      );
      if (volumes.length === 0) process.stderr.write('No volumes yet; create one with `bazil volume create NAME`.\n');
      for (const v of volumes) process.stdout.write(`${[v.name, `sharing=${v.sharingKey}`, ...v.mounts.map((m) => `mounted=${m}`)].join('\t')}\n`);
    },
  },
  {
    path: ['volume', 'mount'],
    summary: 'Mount a volume on a directory',
    usage: 'NAME DIR',
    details: `The directory must exist. ${NEEDS_SERVER}`,
    examples: ['mkdir mnt && bazil volume mount myfiles mnt'],
    args: [2, 2],
    async run({ dataDir, args }) {
      const dir = existingDir(args[1]);
      const mount = await withServer(dataDir, (server) => server.call<MountInfo>('volume.mount', { volume: args[0], dir }));
      process.stdout.write(`Mounted ${mount.volume} on ${mount.dir}.\n`);
    },
  },
  {
    path: ['volume', 'unmount'],
    summary: 'Unmount a volume, by its name or its mount point; open files are saved first',
    usage: 'NAME|DIR',
    details:
      'A word with a slash (./mnt, /home/me/mnt) is a directory. A plain word is a directory when one by that\n' +
      `name is in the current directory and something is mounted there, else a volume name. ${NEEDS_SERVER}`,
    examples: ['bazil volume unmount myfiles', 'bazil volume unmount ./mnt'],
    args: [1, 1],
    async run({ dataDir, args }) {
      const arg = args[0];
      const asPath = arg.includes('/') || arg === '.' || arg === '..';
      const mount = await withServer(dataDir, async (server) => {
        const unmount = (target: string) => server.call<MountInfo>('volume.unmount', { target });
        if (asPath) return unmount(resolve(arg));
        if (!isDir(arg)) return unmount(arg);
        try {
          return await unmount(resolve(arg));
        } catch (err) {
          if (!isBazilError(err, 'NOT_FOUND')) throw err;
          return unmount(arg); // nothing mounted on ./arg: maybe it names a volume
        }
      });
      process.stdout.write(`Unmounted ${mount.volume} from ${mount.dir}.\n`);
    },
  },
  {
    path: ['volume', 'snapshot'],
    summary: 'Take a snapshot of a volume, named NAME',
    usage: 'VOLUME NAME',
    details:
      'A snapshot is a read-only copy of the whole volume, browsable at MOUNT/.snap/NAME.\n' +
      `List them with \`bazil volume snapshot list VOLUME\`. ${NEEDS_SERVER}\n` +
      'For a volume named "list", put -- before it: bazil volume snapshot -- list NAME.',
    examples: ['bazil volume snapshot myfiles before-cleanup', 'bazil volume snapshot myfiles "$(date +%F)"'],
    args: [2, 2],
    async run({ dataDir, args }) {
      const [volume, name] = args;
      const snapshot = await withServer(dataDir, (server) => server.call<SnapshotInfo>('volume.snapshot', { volume, name }));
      process.stdout.write(`Took snapshot ${snapshot.name} of ${volume}.\n`);
    },
  },
  {
    path: ['volume', 'snapshot', 'list'],
    summary: "List a volume's snapshots",
    usage: 'VOLUME',
    details: 'One line per snapshot: NAME, then created=TIME (UTC, ISO 8601). Works with or without the server.',
    examples: ['bazil volume snapshot list myfiles'],
    args: [1, 1],
    async run({ dataDir, args }) {
      const volume = args[0];
      const snapshots = await viaServerOrDataDir(
        dataDir,
        false,
        (server) => server.call<SnapshotInfo[]>('volume.snapshot.list', { volume }),
        (dir) => listSnapshots(dir.db, volume),
      );
      const asArg = volume === 'list' ? '-- list' : volume;
      if (snapshots.length === 0) process.stderr.write(`No snapshots of ${volume} yet; take one with \`bazil volume snapshot ${asArg} NAME\`.\n`);
      for (const s of snapshots) process.stdout.write(`${s.name}\tcreated=${new Date(s.createdAt).toISOString()}\n`);
    },
  },
];
