/** The `bazil` command: finds the command named by the words, parses its flags with meow, runs it. */
import { readFileSync } from 'node:fs';
import meow, { type AnyFlags } from 'meow';
import { BazilError, isBazilError, isErrno } from '../engine/errors.js';
import { dataDirExists, defaultDataDir } from '../engine/datadir.js';
import { extractDataDir, normalizeFlags } from './args.js';
import { commandHelp, GLOBAL_OPTIONS, groupHelp, type Command, type Option } from './command.js';
import { EXIT_CODES } from './exit.js';
import { COMMANDS } from './commands.js';
import { unknownCommand } from './help.js';
import { defaultAction } from './status.js';
import { escapeForTerminal } from './log-line.js';

function meowFlags(options: Option[] = []): AnyFlags {
  const flags: AnyFlags = {};
  for (const o of options) {
    const key = o.name.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
    flags[key] = { type: o.type, ...(o.default !== undefined ? { default: o.default } : {}), ...(o.short ? { shortFlag: o.short } : {}), ...(o.multiple ? { isMultiple: true } : {}) } as AnyFlags[string];
  }
  return flags;
}

/**
 * The command named by the leading non-flag words (flags may stand before it, as
 * in `bazil -data-dir=X debug pubkey`). Returns it with the words that remain.
 */
function findCommand(words: string[]): { command?: Command; path: string[]; next?: string; rest: string[] } {
  const path: string[] = [];
  const rest: string[] = [];
  let i = 0;
  for (; i < words.length; i++) {
    const w = words[i];
    if (w === '--') break;
    if (w.startsWith('-')) {
      rest.push(w);
      continue;
    }
    const longer = [...path, w];
    if (!COMMANDS.some((c) => longer.every((x, k) => c.path[k] === x))) break;
    path.push(w);
  }
  const next = words[i] === '--' ? undefined : words[i];
  rest.push(...words.slice(i));
  const command = COMMANDS.find((c) => c.path.length === path.length && c.path.every((w, k) => w === path[k]));
  return { command, path, next, rest };
}

/** Refuses flags the command does not take, naming the command's help (meow's own message is terse). */
function checkFlags(command: Command, words: string[]): void {
  const known = [...(command.options ?? []), ...GLOBAL_OPTIONS];
  for (const w of words) {
    if (w === '--') return;
    const name = w.startsWith('--') ? w.slice(2).split('=')[0] : w.startsWith('-') && w.length === 2 ? w.slice(1) : undefined;
    if (name === undefined || known.some((o) => o.name === name || o.short === name)) continue;
    const noNeg = name.startsWith('no-') && known.some((o) => o.type === 'boolean' && o.name === name.slice(3));
    if (noNeg) continue;
    throw new BazilError('INVALID_ARGUMENT', `unknown option ${w.split('=')[0]} for \`bazil ${command.path.join(' ')}\`; see \`bazil ${command.path.join(' ')} --help\``);
  }
}

async function run(argv: string[]): Promise<number> {
  const { dataDir: flagDir, rest } = extractDataDir(normalizeFlags(argv));
  const dataDir = flagDir ?? (process.env.BAZIL_DATA_DIR || defaultDataDir());
  const { command, path, next, rest: words } = findCommand(rest);
  const wantsHelp = words.includes('--help') && !words.slice(0, words.indexOf('--help')).includes('--');

  if (!command) {
    const flag = words.find((w) => w.startsWith('-') && w !== '--help');
    if (wantsHelp) {
      process.stdout.write(groupHelp(path, COMMANDS) + '\n');
      return 0;
    }
    if (path.length === 0 && flag === '--version') {
      const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
      process.stdout.write(`${pkg.version}\n`);
      return 0;
    }
    if (flag !== undefined) throw new BazilError('INVALID_ARGUMENT', `unknown option ${flag.split('=')[0]}; see \`bazil ${[...path, ''].join(' ')}--help\``);
    if (path.length === 0 && next === undefined) {
      if (flagDir !== undefined && COMMANDS.some((c) => c.path[0] === flagDir) && !dataDirExists(flagDir)) {
        throw new BazilError('INVALID_ARGUMENT', `--data-dir took \`${flagDir}\` as its path; to run \`bazil ${flagDir}\`, give the data dir first: bazil --data-dir=PATH ${flagDir}`);
      }
      // Only the default data dir is made on first use: a mistyped --data-dir must not become a new identity.
      const mayCreate = flagDir === undefined && !process.env.BAZIL_DATA_DIR;
      // In a terminal, the terminal UI (loaded only then); in a pipe or a script, the status as text.
      if (process.stdin.isTTY && process.stdout.isTTY && (mayCreate || dataDirExists(dataDir))) {
        const { runTui } = await import('../tui/run.js');
        return runTui(dataDir, { firstRun: !dataDirExists(dataDir) });
      }
      return defaultAction(dataDir, mayCreate);
    }
    if (next !== undefined) throw unknownCommand(path, next, COMMANDS);
    process.stderr.write(`bazil: \`bazil ${path.join(' ')}\` needs a command\n\n${groupHelp(path, COMMANDS)}\n`);
    return EXIT_CODES.INVALID_ARGUMENT;
  }

  checkFlags(command, words);
  const cli = meow(commandHelp(command), {
    importMeta: import.meta,
    argv: words,
    flags: meowFlags(command.options),
    allowUnknownFlags: false,
    description: false,
    autoVersion: false,
    helpIndent: 0,
  });
  const [min, max] = command.args;
  if (cli.input.length < min || cli.input.length > max) {
    const why = cli.input.length < min ? 'missing arguments' : `unexpected argument "${cli.input[max]}"`;
    throw new BazilError('INVALID_ARGUMENT', `${why}\nUsage: bazil ${command.path.join(' ')} ${command.usage}\nRun \`bazil ${command.path.join(' ')} --help\` for more.`);
  }
  await command.run({ dataDir, args: cli.input, flags: cli.flags });
  return 0;
}

async function main(): Promise<void> {
  // A reader that stops early (`bazil debug cas get ... | head`) is not an error,
  // nor a terminal closed under a running server (EIO).
  process.stdout.on('error', (err) => {
    if (isErrno(err, 'EPIPE')) process.exit(process.exitCode ?? 0);
    if (isErrno(err, 'EIO')) return;
    throw err;
  });
  try {
    process.exitCode = await run(process.argv.slice(2));
  } catch (err) {
    if (isBazilError(err)) {
      // Messages may quote what a peer sent: escaped like log lines, they cannot drive the terminal.
      process.stderr.write(`bazil: ${escapeForTerminal(err.message)}\n`);
      process.exitCode = EXIT_CODES[err.code];
    } else if (isErrno(err, 'EPIPE')) {
      process.exitCode = 0;
    } else if (err instanceof Error && 'syscall' in err) {
      // The system refused (a missing file, no permission, a full disk): its own words say it best.
      process.stderr.write(`bazil: ${err.message}\n`);
      process.exitCode = EXIT_CODES.INTERNAL;
    } else {
      process.stderr.write(`bazil: internal error: ${err instanceof Error ? (process.env.BAZIL_DEBUG ? err.stack : escapeForTerminal(err.message)) : escapeForTerminal(String(err))}\n`);
      process.exitCode = EXIT_CODES.INTERNAL;
    }
  }
}

await main();
