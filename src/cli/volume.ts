import { DEFAULT_SHARING_KEY } from '../engine/store/sharing.js';
import { createVolume, listVolumes } from '../engine/tree/volumes.js';
import type { Command } from './command.js';
import { withDataDir } from './use-datadir.js';

export const volumeCommands: Command[] = [
  {
    path: ['volume', 'create'],
    summary: 'Create a volume, encrypted under a sharing key',
    usage: '[-sharing=NAME] NAME',
    options: [{ name: 'sharing', type: 'string', value: 'NAME', help: 'sharing key to encrypt the volume with', default: DEFAULT_SHARING_KEY }],
    examples: ['bazil volume create photos', 'bazil volume create -sharing=friends myfiles'],
    args: [1, 1],
    run: ({ dataDir, args, flags }) =>
      withDataDir(dataDir, true, (dir) => {
        const volume = createVolume(dir.db, args[0], flags.sharing as string);
        process.stdout.write(`Created volume ${volume.name} (sharing key ${volume.sharingKey}).\n`);
      }),
  },
  {
    path: ['volume', 'list'],
    summary: 'List volumes and the sharing key of each',
    usage: '',
    examples: ['bazil volume list'],
    args: [0, 0],
    run: ({ dataDir }) =>
      withDataDir(dataDir, false, (dir) => {
        const volumes = listVolumes(dir.db);
        if (volumes.length === 0) process.stderr.write('No volumes yet; create one with `bazil volume create NAME`.\n');
        for (const v of volumes) process.stdout.write(`${v.name}\tsharing=${v.sharingKey}\n`);
      }),
  },
];
