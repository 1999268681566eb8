/** `bazil tui`: the terminal UI (also what plain `bazil` opens in a terminal). */
import { BazilError } from '../engine/errors.js';
import type { Command } from './command.js';

export const tuiCommands: Command[] = [
  {
    path: ['tui'],
    summary: 'Open the terminal UI: volumes, peers, conflicts, activity and storage, live',
    usage: '',
    details:
      'Plain `bazil` opens it too when standard input and output are a terminal. Panels 1-5 (or tab):\n' +
      'Volumes, Peers, Conflicts, Activity, Storage; ↑/↓ or j/k move, enter opens, / filters, ? shows every key,\n' +
      'q quits. It offers to start the server when none runs. Honours NO_COLOR.',
    examples: ['bazil tui', 'NO_COLOR=1 bazil tui'],
    args: [0, 0],
    async run({ dataDir }) {
      if (!process.stdin.isTTY || !process.stdout.isTTY) {
        throw new BazilError('INVALID_ARGUMENT', 'the terminal UI needs a terminal on standard input and output; in a script, use `bazil status` or `bazil events`');
      }
      // Loaded here: only the terminal UI needs Ink and React.
      const { runTui } = await import('../tui/run.js');
      await runTui(dataDir);
    },
  },
];
