/** Commands of the local cache: its budget, pins for offline use, and where content is. */
import { resolve } from 'node:path';
import type { PinInfo } from '../engine/control/cache-api.js';
import { readShownName, showName } from '../engine/names.js';
import { JSON_OPTION, type Command } from './command.js';
import { formatBytes, printJson } from './format.js';
import { withServer } from './use-datadir.js';

const NEEDS_SERVER = 'Needs the bazil server: start it with `bazil server start`.';

/** A path as typed (names as shown: \xNN is a byte): VOLUME:/path stays, anything else is a path (in a mount). */
const place = (typed: string) => {
  const arg = readShownName(typed);
  return /^[^/:]+:\//.test(arg) ? arg : resolve(arg);
};

const storeName = (store: string, at?: string) => (store.startsWith('peer:') ? `peer ${store.slice(5, 21)}` : at ? `${store} (last at ${at})` : store);
const when = (ms: number) => new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');

function pinLine(p: PinInfo): string {
  const progress = p.total ? ` ${formatBytes(p.bytes)} of ${formatBytes(p.total)}` : '';
  const why = p.state === 'waiting' && p.error ? ` (${p.error})` : '';
  return `${p.volume}:${showName(p.path)}\t${p.state}${progress}, ${p.files} file${p.files === 1 ? '' : 's'}${why}`;
}

export const cacheCommands: Command[] = [
  {
    path: ['cache'],
    summary: 'Show the local cache: used, budget, pinned, not yet stored elsewhere, evictable',
    usage: '[--json]',
    details:
      'The local store is a cache with a budget. Content pinned here, or not yet stored on any other store,\n' +
      'is never evicted; content another store keeps is evicted least recently used first when the store\n' +
      `is over its budget, or when the disk gets below its floor of free space. ${NEEDS_SERVER}`,
    options: [JSON_OPTION],
    examples: ['bazil cache', 'bazil cache --json'],
    args: [0, 0],
    async run({ dataDir, flags }) {
      const s = await withServer(dataDir, (server) => server.call('cache.show', {}));
      if (flags.json === true) return printJson(s);
      const lines = [
        ['used', `${formatBytes(s.used)} in ${s.objects} objects`],
        ['budget', `${formatBytes(s.budget)}${s.defaultBudget ? ' (default)' : ''}`],
        ['keep free', `${formatBytes(s.minFree)} of disk${s.defaultMinFree ? ' (default)' : ''}; ${formatBytes(s.diskFree)} free now`],
        ['pinned', formatBytes(s.pinned)],
        ['not elsewhere', `${formatBytes(s.notElsewhere)} (not yet stored on another store: kept)`],
        ['evictable', formatBytes(s.evictable)],
      ];
      for (const [k, v] of lines) process.stdout.write(`${`${k}:`.padEnd(15)}${v}\n`);
    },
  },
  {
    path: ['cache', 'set-size'],
    summary: 'Set how much the local cache may hold (and the free disk it keeps)',
    usage: '[--keep-free=SIZE] SIZE|default',
    details:
      'SIZE is like 512M, 10G or 1.5TiB; `default` goes back to a quarter of the disk (at most 10 GiB).\n' +
      'Content over the new budget that other stores keep is evicted at once; pinned content and content\n' +
      `not yet stored elsewhere stay. ${NEEDS_SERVER}`,
    options: [{ name: 'keep-free', type: 'string', value: 'SIZE', help: 'free disk the cache never uses up (default: a tenth of the disk, at most 5 GiB)' }],
    examples: ['bazil cache set-size 20G', 'bazil cache set-size --keep-free=2G 256M', 'bazil cache set-size default'],
    args: [1, 1],
    async run({ dataDir, args, flags }) {
      const keepFree = flags.keepFree; // meow keys options in camelCase
      const minFree = typeof keepFree === 'string' ? keepFree : undefined;
      const s = await withServer(dataDir, (server) => server.call('cache.setSize', { size: args[0], minFree }));
      process.stdout.write(`Cache budget ${formatBytes(s.budget)}, keeping ${formatBytes(s.minFree)} of disk free; ${formatBytes(s.used)} used.\n`);
    },
  },
  {
    path: ['pin'],
    summary: 'Keep files here for offline use (a directory: everything in it, now and later)',
    usage: 'PATH...',
    details:
      'PATH is a file or directory in a mount, or VOLUME:/path. Its content is fetched in the background\n' +
      'and never evicted; files that arrive later in a pinned directory are fetched too. See the progress\n' +
      `with \`bazil pin list\`. ${NEEDS_SERVER}`,
    examples: ['bazil pin mnt/photos', 'bazil pin myfiles:/notes.txt'],
    args: [1, Infinity],
    async run({ dataDir, args }) {
      const pins = await withServer(dataDir, (server) => server.call('pin.add', { paths: args.map(place) }));
      for (const p of pins) process.stdout.write(`Pinned ${p.volume}:${showName(p.path)}.\n`);
      process.stderr.write('Its content is fetched in the background: `bazil pin list` shows how far.\n');
    },
  },
  {
    path: ['pin', 'list'],
    summary: 'List pins and their state: complete, fetching (with progress), or waiting for a source',
    usage: '[--json]',
    options: [JSON_OPTION],
    examples: ['bazil pin list'],
    args: [0, 0],
    async run({ dataDir, flags }) {
      const pins = await withServer(dataDir, (server) => server.call('pin.list', {}));
      if (flags.json === true) return printJson(pins);
      if (pins.length === 0) process.stderr.write('Nothing is pinned; pin with `bazil pin PATH`.\n');
      for (const p of pins) process.stdout.write(`${pinLine(p)}\n`);
    },
  },
  {
    path: ['unpin'],
    summary: 'Stop keeping pinned files here (they stay cached until evicted)',
    usage: 'PATH...',
    details: `PATH is exactly as it was pinned (see \`bazil pin list\`). ${NEEDS_SERVER}`,
    examples: ['bazil unpin mnt/photos'],
    args: [1, Infinity],
    async run({ dataDir, args }) {
      await withServer(dataDir, (server) => server.call('pin.remove', { paths: args.map(place) }));
      process.stdout.write(`Unpinned ${args.join(', ')}.\n`);
    },
  },
  {
    path: ['whereis'],
    summary: "Show where files' content is: here in full, in part or not at all, pinned, and which stores hold it",
    usage: '[--json] PATH...',
    details:
      'For each file at or under PATH: here=full|part|none|inline, pinned or not, and each store last known\n' +
      'to hold its content, with when that was confirmed. When content is missing here, it names the stores\n' +
      `to bring back to read it. Nothing is fetched and no peer is asked. ${NEEDS_SERVER}`,
    options: [JSON_OPTION],
    examples: ['bazil whereis mnt/photos', 'bazil whereis --json myfiles:/notes.txt'],
    args: [1, Infinity],
    async run({ dataDir, args, flags }) {
      const files = await withServer(dataDir, (server) => server.call('whereis', { paths: args.map(place) }));
      if (flags.json === true) return printJson(files);
      if (files.length === 0) process.stderr.write(`No files at ${args.join(', ')}.\n`);
      for (const f of files) {
        const fields = [`${f.volume}:${showName(f.path)}`, `here=${f.here}${f.here === 'part' ? ` (${formatBytes(f.bytes)} of ${formatBytes(f.total)})` : ''}`];
        if (f.pinned) fields.push('pinned');
        for (const s of f.stores) {
          fields.push(`${storeName(s.store, s.at)}${s.objects < f.objects ? ` (${s.objects} of ${f.objects} objects)` : ''} ${s.kept ? 'keeps it' : 'caches it'}, confirmed ${when(s.seen)}`);
        }
        process.stdout.write(`${fields.join('\t')}\n`);
        if (f.needs) {
          process.stdout.write(
            f.needs.length ? `  to read it all: make one of these available: ${f.needs.map((n) => storeName(n, f.stores.find((s) => s.store === n)?.at)).join(', ')}\n` : '  to read it all: no store is known to hold the missing content\n',
          );
        }
      }
    },
  },
];
