/** How a CLI command is described: enough to parse it, check it and print its help. */
export interface Option {
  /** Long name as typed: `sharing` for --sharing / -sharing. */
  name: string;
  type: 'string' | 'number' | 'boolean';
  /** Placeholder in help, e.g. NAME. */
  value?: string;
  help: string;
  default?: string | number | boolean;
  short?: string;
  /** May be given several times (the flag's value is then an array). */
  multiple?: boolean;
}

export interface Context {
  dataDir: string;
  /** Positional arguments after the command's name. */
  args: string[];
  flags: Record<string, unknown>;
}

export interface Command {
  /** Words after `bazil`, e.g. ['volume', 'create']. */
  path: string[];
  summary: string;
  /** Arguments part of the usage line, e.g. '[-sharing=NAME] NAME'. */
  usage: string;
  details?: string;
  examples?: string[];
  options?: Option[];
  /** How many positional arguments it takes: [min, max]. */
  args: [number, number];
  run(ctx: Context): Promise<void> | void;
}

/** For commands that list or report: one JSON document on stdout instead of lines, for scripts. */
export const JSON_OPTION: Option = { name: 'json', type: 'boolean', help: 'print one JSON document instead of lines (for scripts)' };

export const GLOBAL_OPTIONS: Option[] = [
  {
    name: 'data-dir',
    type: 'string',
    value: 'PATH',
    help: 'data dir to use (default: $BAZIL_DATA_DIR, else $XDG_DATA_HOME/bazil, else ~/.local/share/bazil)',
  },
  { name: 'help', type: 'boolean', help: 'show help for the command', short: 'h' },
];

function optionLines(options: Option[]): string[] {
  const left = options.map((o) => `--${o.name}${o.value ? `=${o.value}` : ''}${o.short ? `, -${o.short}` : ''}`);
  const width = Math.max(...left.map((l) => l.length)) + 2;
  return options.map((o, i) => `  ${left[i].padEnd(width)}${o.help}${o.default !== undefined ? ` (default: ${o.default})` : ''}`);
}

export function commandHelp(cmd: Command): string {
  const lines = [`Usage: bazil ${cmd.path.join(' ')}${cmd.usage ? ` ${cmd.usage}` : ''}`, '', cmd.summary];
  if (cmd.details) lines.push('', cmd.details);
  if (cmd.options?.length) lines.push('', 'Options:', ...optionLines(cmd.options));
  lines.push('', 'Global options:', ...optionLines(GLOBAL_OPTIONS));
  lines.push('', 'Long options may also be written Go style, with one dash: -sharing=NAME.');
  if (cmd.examples?.length) lines.push('', 'Examples:', ...cmd.examples.map((e) => `  $ ${e}`));
  return lines.join('\n');
}

/** Help for `bazil` or a group such as `bazil volume`: its commands, one line each. */
export function groupHelp(prefix: string[], commands: Command[]): string {
  const below = commands.filter((c) => prefix.every((w, i) => c.path[i] === w));
  const names = below.map((c) => `bazil ${c.path.join(' ')}`);
  const width = Math.max(...names.map((n) => n.length)) + 2;
  const title = prefix.length ? `Usage: bazil ${prefix.join(' ')} COMMAND` : 'Usage: bazil [COMMAND] [OPTIONS]';
  const lines = [title, ''];
  if (!prefix.length) {
    lines.push(
      'Bazil keeps one encrypted file tree on all your computers.',
      'With no command, in a terminal, bazil opens the terminal UI (bazil tui); otherwise it sets up the',
      'data dir if there is none and shows its status.',
      '',
    );
  }
  lines.push('Commands:', ...below.map((c, i) => `  ${names[i].padEnd(width)}${c.summary}`));
  lines.push('', 'Global options:', ...optionLines(GLOBAL_OPTIONS), '', `Run \`bazil ${prefix.length ? prefix.join(' ') + ' ' : ''}COMMAND --help\` for a command's options.`);
  return lines.join('\n');
}
