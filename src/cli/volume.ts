import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import type { MountInfo, MountProblem } from '../engine/control/api.js';
import { isBazilError } from '../engine/errors.js';
import { DEFAULT_SHARING_KEY } from '../engine/store/sharing.js';
import { checkDirectory, isDeadMount } from '../server/mount-points.js';
import { JSON_OPTION, type Command } from './command.js';
import { printJson } from './format.js';
import { withControl, withServer } from './use-datadir.js';

const NEEDS_SERVER = 'Needs the bazil server: start it with `bazil server start`.';

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
      const volume = await withControl(dataDir, true, (api) => api.call('volume.create', { name, sharing }));
      process.stdout.write(`Created volume ${volume.name} (sharing key ${volume.sharingKey}).\n`);
    },
  },
  {
    path: ['volume', 'list'],
    summary: 'List volumes, the sharing key of each, and where they are mounted',
    usage: '[--json]',
    details:
      'One line per volume: NAME, sharing=KEY, then mounted=DIR for each mount point, dead=DIR for a mount\n' +
      'left by a server that was killed, unmounted=DIR for one the server could not mount again (why: on stderr).',
    options: [JSON_OPTION],
    examples: ['bazil volume list', 'bazil volume list --json'],
    args: [0, 0],
    async run({ dataDir, flags }) {
      const volumes = await withControl(dataDir, false, (api) => api.call('volume.list', {}));
      if (flags.json === true) return printJson(volumes.map((v) => ({ ...v, problems: v.problems ?? [] })));
      if (volumes.length === 0) process.stderr.write('No volumes yet; create one with `bazil volume create NAME`.\n');
      for (const v of volumes) {
        const problems = v.problems ?? [];
        process.stdout.write(`${[v.name, `sharing=${v.sharingKey}`, ...v.mounts.map((m) => `mounted=${m}`), ...problems.map((p) => `${p.state}=${p.dir}`)].join('\t')}\n`);
        for (const p of problems) process.stderr.write(`bazil: ${v.name} on ${p.dir}: ${problemText(p)}\n`);
      }
    },
  },
  {
    path: ['volume', 'mount'],
    summary: 'Mount a volume on a directory',
    usage: 'NAME DIR',
    details:
      'The directory must exist and be empty. The server remembers the mount and mounts it again when it starts,\n' +
      `until \`bazil volume unmount\`. ${NEEDS_SERVER}`,
    examples: ['mkdir mnt && bazil volume mount myfiles mnt'],
    args: [2, 2],
    async run({ dataDir, args }) {
      const dir = resolve(args[1]);
      checkDirectory(dir, args[1]); // the rest is checked by the server, after the volume
      const mount = await withServer(dataDir, (server) => server.call('volume.mount', { volume: args[0], dir }));
      process.stdout.write(mount.already ? `${mount.volume} is already mounted on ${mount.dir}.\n` : `Mounted ${mount.volume} on ${mount.dir}.\n`);
    },
  },
  {
    path: ['volume', 'unmount'],
    summary: 'Unmount a volume, by its name or its mount point; open files are saved first',
    usage: '[--force] NAME|DIR',
    details:
      'A word with a slash (./mnt, /home/me/mnt) is a directory. A plain word is a directory when one by that\n' +
      'name is in the current directory and something is mounted there, else a volume name.\n' +
      'While programs use the mount (open files, a shell in it), it is refused (exit 5) and they are named;\n' +
      '--force unmounts anyway. The server forgets the mount: it is not mounted again at the next start.\n' +
      `A dead mount (left by a server that was killed) is cleared, with or without a server. ${NEEDS_SERVER}`,
    options: [{ name: 'force', type: 'boolean', help: 'unmount even while programs use it (they then get errors)' }],
    examples: ['bazil volume unmount myfiles', 'bazil volume unmount ./mnt', 'bazil volume unmount --force mnt'],
    args: [1, 1],
    async run({ dataDir, args, flags }) {
      const arg = args[0];
      const force = flags.force === true;
      const asPath = arg.includes('/') || arg === '.' || arg === '..';
      // A plain word is tried as a directory here first, then as a volume name.
      const targets = asPath ? [resolve(arg)] : isDir(arg) || isDeadMount(resolve(arg)) ? [resolve(arg), arg] : [arg];
      const mount = await withControl(dataDir, true, async (api): Promise<MountInfo> => {
        let notFound: unknown;
        for (const target of targets) {
          try {
            return await api.call('volume.unmount', { target, force, client: process.pid });
          } catch (err) {
            if (!isBazilError(err, 'NOT_FOUND')) throw err;
            notFound = err;
          }
        }
        throw notFound;
      });
      if (mount.dead) process.stdout.write(`Cleared the dead mount of ${mount.volume} on ${mount.dir}.\n`);
      else if (mount.forgotten) process.stdout.write(`${mount.volume} was not mounted; forgot its mount on ${mount.dir}: the server will not mount it there again.\n`);
      else process.stdout.write(`Unmounted ${mount.volume} from ${mount.dir}.\n`);
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
      const snapshot = await withServer(dataDir, (server) => server.call('volume.snapshot', { volume, name }));
      process.stdout.write(`Took snapshot ${snapshot.name} of ${volume}.\n`);
    },
  },
  {
    path: ['volume', 'snapshot', 'list'],
    summary: "List a volume's snapshots",
    usage: '[--json] VOLUME',
    details: 'One line per snapshot: NAME, then created=TIME (UTC, ISO 8601). Works with or without the server.',
    options: [JSON_OPTION],
    examples: ['bazil volume snapshot list myfiles', 'bazil volume snapshot list --json myfiles'],
    args: [1, 1],
    async run({ dataDir, args, flags }) {
      const volume = args[0];
      const snapshots = await withControl(dataDir, false, (api) => api.call('volume.snapshot.list', { volume }));
      if (flags.json === true) return printJson(snapshots.map((s) => ({ ...s, createdAt: new Date(s.createdAt).toISOString() })));
      const asArg = volume === 'list' ? '-- list' : volume;
      if (snapshots.length === 0) process.stderr.write(`No snapshots of ${volume} yet; take one with \`bazil volume snapshot ${asArg} NAME\`.\n`);
      for (const s of snapshots) process.stdout.write(`${s.name}\tcreated=${new Date(s.createdAt).toISOString()}\n`);
    },
  },
  {
    path: ['volume', 'snapshot', 'delete'],
    summary: 'Delete a snapshot, here and on every peer the volume syncs with',
    usage: 'VOLUME NAME',
    details:
      'The deletion syncs like any change: the snapshot goes from MOUNT/.snap on every peer, and `bazil gc`\n' +
      `(or the server on its own) then removes the content only it referenced. ${NEEDS_SERVER}`,
    examples: ['bazil volume snapshot delete myfiles before-cleanup'],
    args: [2, 2],
    async run({ dataDir, args }) {
      const [volume, name] = args;
      await withServer(dataDir, (server) => server.call('volume.snapshot.delete', { volume, name }));
      process.stdout.write(`Deleted snapshot ${name} of ${volume}.\n`);
    },
  },
];

function problemText(p: MountProblem): string {
  return p.state === 'dead' ? `a dead mount: ${p.why}` : `not mounted: ${p.why}`;
}
