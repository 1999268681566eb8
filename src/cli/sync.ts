/** Commands that sync volumes with peers, and settle what the sync could not: conflicts. */
import { resolve } from 'node:path';
import { BazilError } from '../engine/errors.js';
import { readShownName, showName } from '../engine/names.js';
import { DEFAULT_SHARING_KEY } from '../engine/store/sharing.js';
import { JSON_OPTION, type Command } from './command.js';
import { bazilCommand, formatBytes, printJson } from './format.js';
import { warnMissingGrants } from './peer.js';
import { withServer } from './use-datadir.js';

const NEEDS_SERVER = 'Needs the bazil server: start it with `bazil server start`.';

/** A conflict's place as typed (names as shown: \xNN is a byte): VOLUME:/path stays, anything else is a path (in a mount). */
const conflictPath = (typed: string) => {
  const arg = readShownName(typed);
  return /^[^/:]+:\//.test(arg) ? arg : resolve(arg);
};

export const syncCommands: Command[] = [
  {
    path: ['volume', 'connect'],
    summary: 'Make a local copy of a volume that lives on a peer, and sync it from there',
    usage: '[-sharing=NAME] PUBKEY VOLUME [LOCALNAME]',
    details:
      'The peer must know this data dir (bazil peer add) and allow it the volume (bazil peer volume allow);\n' +
      'this side needs the peer\'s location (bazil peer location set) and the volume\'s sharing key (bazil sharing add).\n' +
      'The volume is called LOCALNAME here (default: its name there). Its files show after the first sync;\n' +
      `to read their content from the peer, add it as storage: bazil volume storage add VOLUME peerkey:PUBKEY. ${NEEDS_SERVER}`,
    options: [{ name: 'sharing', type: 'string', value: 'NAME', help: 'the sharing key the volume is encrypted with', default: DEFAULT_SHARING_KEY }],
    examples: ['bazil volume connect -sharing=friends $WHITE myfiles', 'bazil volume connect -sharing=friends $WHITE myfiles work-files'],
    args: [2, 3],
    async run({ dataDir, args, flags }) {
      const [peer, volume, name] = args;
      const v = await withServer(dataDir, (server) => server.call('volume.connect', { peer, volume, name, sharing: flags.sharing as string }));
      process.stdout.write(`Connected volume ${v.name} to ${volume} on peer ${/^[0-9a-fA-F]{17,}$/.test(peer) ? `${peer.slice(0, 16)}...` : peer}\n`);
      warnMissingGrants(peer, v.grants, volume);
      process.stderr.write(
        `Next: \`${bazilCommand(dataDir, `volume storage add -sharing=${v.sharingKey} ${v.name} peerkey:${peer}`)}\` to read its content from there, ` +
          `then \`${bazilCommand(dataDir, `volume mount ${v.name} DIR`)}\`.\n`,
      );
    },
  },
  {
    path: ['volume', 'sync'],
    summary: "Pull a peer's changes to a volume now (metadata only: content comes when read)",
    usage: 'VOLUME PUBKEY',
    details:
      'Brings in what changed on the peer: new, changed, renamed and deleted files and directories.\n' +
      'A file changed on both sides becomes a conflict (see `bazil conflicts list`); a file open here is\n' +
      `updated when it is closed. Servers that know each other's location also sync on their own. ${NEEDS_SERVER}`,
    examples: ['bazil volume sync myfiles $WHITE'],
    args: [2, 2],
    async run({ dataDir, args }) {
      const [volume, peer] = args;
      const s = await withServer(dataDir, (server) => server.call('volume.sync', { volume, peer }));
      const changes = s.copied + s.deleted;
      process.stdout.write(
        changes || s.conflicts || s.postponed
          ? `Synced ${volume}: ${s.copied} new or changed, ${s.deleted} deleted, ${s.conflicts} conflicts${s.postponed ? `, ${s.postponed} waiting for open files to close` : ''}.\n`
          : `${volume} is up to date with that peer.\n`,
      );
      if (s.conflicts) {
        process.stderr.write(`See them with \`${bazilCommand(dataDir, 'conflicts list')}\`; settle each with \`${bazilCommand(dataDir, 'conflicts resolve PATH --mine|--theirs|--both')}\`.\n`);
      }
    },
  },
  {
    path: ['conflicts', 'list'],
    summary: 'List conflicts: files changed both here and on a peer',
    usage: '[--all] [--json] [VOLUME]',
    details:
      'One line per conflict: WHERE (the path in the mount, or VOLUME:/path when not mounted), peer=NAME\n' +
      '(its key when it has no name), and theirs=WHAT their version is. The version here stays in place\n' +
      'until you resolve it.\n' +
      `With --all, resolved ones too, with how. ${NEEDS_SERVER}`,
    options: [{ name: 'all', type: 'boolean', help: 'also list resolved conflicts' }, JSON_OPTION],
    examples: ['bazil conflicts list', 'bazil conflicts list myfiles', 'bazil conflicts list --all --json'],
    args: [0, 1],
    async run({ dataDir, args, flags }) {
      const list = await withServer(dataDir, (server) => server.call('conflicts.list', { volume: args[0], all: flags.all === true }));
      if (flags.json === true) return printJson(list.map((c) => ({ ...c, createdAt: new Date(c.createdAt).toISOString() })));
      if (list.length === 0) process.stderr.write(flags.all ? 'No conflicts, ever.\n' : 'No open conflicts.\n');
      for (const c of list) {
        const fields = [showName(c.where), `peer=${c.peerName ?? c.peer}`, `theirs=${c.theirs}`];
        if (c.localDeleted) fields.push('deleted here, restored from theirs');
        if (c.resolution) fields.push(`resolved=${c.resolution}`);
        process.stdout.write(`${fields.join('\t')}\n`);
      }
    },
  },
  {
    path: ['conflicts', 'show'],
    summary: 'Show both versions of a conflict: what each is, and the text of short text files',
    usage: '[--json] PATH',
    details:
      'PATH is the file in a mount (or VOLUME:/path), as `bazil conflicts list` shows it. For each side:\n' +
      'its kind, size and modification time, then its text when it is UTF-8 text of at most 64 KiB (their\n' +
      'version is fetched from a peer if it is not here). Then choose with `bazil conflicts resolve`.\n' +
      NEEDS_SERVER,
    options: [JSON_OPTION],
    examples: ['bazil conflicts show mnt/notes.txt', 'bazil conflicts show myfiles:/notes.txt --json'],
    args: [1, 1],
    async run({ dataDir, args, flags }) {
      const path = conflictPath(args[0]);
      const both = await withServer(dataDir, (server) => server.call('conflicts.show', { path }));
      if (flags.json === true) return printJson(both);
      for (const [title, v] of [['Mine (here)', both.mine], ['Theirs', both.theirs]] as const) {
        const what = v.kind === 'deleted' ? 'deleted' : `${v.kind}, ${formatBytes(v.size)}, modified ${new Date(v.mtime).toISOString()}`;
        process.stdout.write(`${title}: ${what}${v.target !== undefined ? `, -> ${showName(v.target)}` : ''}${v.noText ? ` (no text shown: ${v.noText})` : ''}\n`);
        // Each line escaped as names are (a peer's text must not drive the terminal).
        if (v.text) for (const line of v.text.replace(/\n$/, '').split('\n')) process.stdout.write(`  | ${showName(line)}\n`);
      }
      process.stdout.write(`Next: bazil conflicts resolve ${showName(args[0])} --mine|--theirs|--both\n`);
    },
  },
  {
    path: ['conflicts', 'resolve'],
    summary: 'Resolve a conflict: keep mine, take theirs, or keep both',
    usage: 'PATH --mine|--theirs|--both',
    details:
      'PATH is the file in a mount (or VOLUME:/path), as `bazil conflicts list` shows it (\\xNN is a byte\n' +
      "that is not UTF-8). --mine keeps the version here; --theirs takes the peer's; --both keeps mine in\n" +
      'place and saves theirs beside it as NAME.conflict-PEER.EXT. The outcome syncs to the peers like any\n' +
      `change. ${NEEDS_SERVER}`,
    options: [
      { name: 'mine', type: 'boolean', help: 'keep the version here' },
      { name: 'theirs', type: 'boolean', help: "take the peer's version" },
      { name: 'both', type: 'boolean', help: "keep mine, and save theirs beside it" },
    ],
    examples: ['bazil conflicts resolve mnt/notes.txt --both', 'bazil conflicts resolve myfiles:/notes.txt --mine'],
    args: [1, 1],
    async run({ dataDir, args, flags }) {
      const chosen = (['mine', 'theirs', 'both'] as const).filter((c) => flags[c] === true);
      if (chosen.length !== 1) throw new BazilError('INVALID_ARGUMENT', 'choose one of --mine, --theirs or --both');
      const r = await withServer(dataDir, (server) =>
        server.call('conflicts.resolve', { path: conflictPath(args[0]), choice: chosen[0] }),
      );
      process.stdout.write(`Resolved ${showName(r.where)} (${chosen[0]})${r.savedAs ? `; theirs is at ${showName(r.savedAs)}` : ''}.\n`);
    },
  },
];
