import { createDataDir } from '../engine/datadir.js';
import type { Command } from './command.js';
import { bazilCommand } from './format.js';

export const createCommands: Command[] = [
  {
    path: ['create'],
    summary: 'Create a new data dir: an identity, a database and a `default` sharing key',
    usage: '',
    details: 'Refuses to touch a directory that exists and is not empty.',
    examples: ['bazil create', 'bazil -data-dir=/tmp/black create'],
    args: [0, 0],
    run({ dataDir }) {
      const { publicKey } = createDataDir(dataDir);
      process.stdout.write(
        `Created a bazil data dir in ${dataDir}\n` +
          `Public key: ${publicKey.toString('hex')}\n` +
          `Next: create a volume with \`${bazilCommand(dataDir, 'volume create NAME')}\`.\n`,
      );
    },
  },
];
