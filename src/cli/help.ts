/** `bazil help [COMMAND]`, and the one line an unknown command gets: the closest command, and how to list them. */
import { BazilError } from '../engine/errors.js';
import { commandHelp, groupHelp, type Command } from './command.js';

/** Edits (insert, delete, substitute) from a to b. */
function distance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) next[j] = Math.min(row[j] + 1, next[j - 1] + 1, row[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    row = next;
  }
  return row[b.length];
}

/** True when every letter of short appears in long, in order (`mnt` in `mount`). */
function inOrder(short: string, long: string): boolean {
  let i = 0;
  for (const ch of long) if (ch === short[i]) i++;
  return short.length >= 2 && i === short.length;
}

/**
 * The commands (or groups) meant by `word` typed after `prefix`: those that
 * end with that word (`bazil mount` -> `bazil volume mount`), else the nearest
 * spelling at that place (`bazil volum` -> `bazil volume`, `mnt` -> `mount`).
 */
export function closest(prefix: string[], word: string, commands: Command[]): string[][] {
  const below = commands.filter((c) => prefix.every((w, i) => c.path[i] === w) && c.path.length > prefix.length);
  const endsWith = below.filter((c) => c.path.at(-1) === word).map((c) => c.path);
  if (endsWith.length) return endsWith;
  const near = (w: string) => (inOrder(word, w) ? 0 : distance(word, w));
  const close = (w: string) => near(w) <= Math.max(1, Math.floor(Math.min(w.length, word.length) / 2));
  const here = [...new Set(below.map((c) => c.path[prefix.length]))].filter(close);
  const best = Math.min(...here.map(near));
  if (here.length) return here.filter((w) => near(w) === best).map((w) => [...prefix, w]);
  // Else a word further down (`bazil snap` -> `bazil volume snapshot`).
  const deeper = below.flatMap((c) => c.path.slice(prefix.length + 1).flatMap((w, i) => (close(w) ? [{ d: near(w), path: c.path.slice(0, prefix.length + i + 2).join(' ') }] : [])));
  const bestDeeper = Math.min(...deeper.map(({ d }) => d));
  return [...new Set(deeper.filter(({ d }) => d === bestDeeper).map(({ path }) => path))].map((p) => p.split(' '));
}

/** The error for an unknown command: one line, with the closest commands and how to list them. */
export function unknownCommand(prefix: string[], word: string, commands: Command[]): BazilError {
  const meant = closest(prefix, word, commands).slice(0, 3).map((p) => `\`bazil ${p.join(' ')}\``);
  const list = `\`bazil help${prefix.length ? ` ${prefix.join(' ')}` : ''}\` lists the commands`;
  return new BazilError('INVALID_ARGUMENT', `unknown command \`bazil ${[...prefix, word].join(' ')}\`; ${meant.length ? `did you mean ${meant.join(' or ')}? ` : ''}${list}`);
}

export const helpCommands: Command[] = [
  {
    path: ['help'],
    summary: 'Show the commands, or the help of one command or group',
    usage: '[COMMAND]',
    details: '`bazil help volume mount` is `bazil volume mount --help`; `bazil help volume` lists the volume commands.',
    examples: ['bazil help', 'bazil help volume', 'bazil help volume mount'],
    args: [0, 3],
    async run({ args }) {
      const { COMMANDS } = await import('./commands.js'); // here, not at the top: commands.ts lists this one
      const command = COMMANDS.find((c) => c.path.length === args.length && c.path.every((w, i) => w === args[i]));
      if (command) {
        process.stdout.write(`\n${commandHelp(command)}\n\n`); // as meow prints `--help`
        return;
      }
      const known = args.findIndex((_, i) => !COMMANDS.some((c) => args.slice(0, i + 1).every((w, k) => c.path[k] === w)));
      if (known >= 0) throw unknownCommand(args.slice(0, known), args[known], COMMANDS);
      process.stdout.write(groupHelp(args, COMMANDS) + '\n');
    },
  },
];
