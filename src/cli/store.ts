/** `bazil store ...`: the remote stores (dir:, sftp://) volumes keep content on. */
import { resolve } from 'node:path';
import type { StoreInfo } from '../engine/control/store-api.js';
import { BazilError } from '../engine/errors.js';
import { JSON_OPTION, type Command } from './command.js';
import { formatBytes, printJson } from './format.js';
import { withControl, withServer } from './use-datadir.js';

const say = (line: string) => process.stdout.write(`${line}\n`);
const when = (ms: number) => new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');

/** dir:PATH as typed, with PATH made absolute here (the server's working directory is not ours). */
const typedStore = (typed: string) => (typed.startsWith('dir:') ? `dir:${resolve(typed.slice(4))}` : typed);

function storeLine(s: StoreInfo): string {
  const where = s.kind === 'dir' ? `${s.name}\tat ${s.location}` : s.name;
  const state =
    s.available === undefined ? '' : s.available ? 'available' : `not available, last seen ${s.seenAt === null ? 'never' : when(s.seenAt)}`;
  const volumes = s.volumes.length ? `volumes ${s.volumes.join(', ')}` : 'no volume uses it';
  return [where, state, volumes].filter(Boolean).join('\t');
}

const FORMS = 'STORE is dir:PATH (a directory, e.g. on an external disk) or sftp://[user@]host[:port]/path.';

export const storeCommands: Command[] = [
  {
    path: ['store', 'list'],
    summary: 'List the stores volumes keep content on, and whether each is available now',
    usage: '[--json]',
    details:
      'Each store is asked (within a few seconds) whether it answers: an unplugged disk shows as\n' +
      '"not available, last seen ...". A dir: store is known by the id in its identity file\n' +
      '(bazil-store.json at its root), so it is found again at another path: see `bazil store locate`.',
    options: [JSON_OPTION],
    examples: ['bazil store list'],
    args: [0, 0],
    async run({ dataDir, flags }) {
      const stores = await withControl(dataDir, false, (api) => api.call('store.list', {}));
      if (flags.json === true) return printJson(stores);
      if (stores.length === 0) process.stderr.write('No store is known; add one with `bazil store add dir:PATH` or `bazil volume storage add VOLUME dir:PATH`.\n');
      for (const s of stores) say(storeLine(s));
    },
  },
  {
    path: ['store', 'add'],
    summary: 'Add a store (a dir: store gets its identity file)',
    usage: '[--json] [--yes] STORE',
    details: `${FORMS}\nAn sftp:// server is reached as \`bazil pair\` reaches one (~/.ssh/config, known_hosts, the agent,\nkey files); an unknown host key is refused unless --yes accepts it (check its fingerprint first).\nA directory that is not a store yet becomes one; adding a known store again updates where it is.\nTo let a volume use it: \`bazil volume storage add VOLUME STORE\`.`,
    options: [JSON_OPTION, { name: 'yes', type: 'boolean', help: "sftp://: accept the server's host key if it is not known yet (added to known_hosts)" }],
    examples: ['bazil store add dir:/media/usb/bazil', 'bazil store add sftp://me@closet.local/srv/bazil'],
    args: [1, 1],
    async run({ dataDir, args, flags }) {
      const s = await withControl(dataDir, true, (api) => api.call('store.add', { store: typedStore(args[0]), yes: flags.yes === true }));
      if (flags.json === true) return printJson(s);
      say(`Added store ${storeLine(s)}.`);
    },
  },
  {
    path: ['store', 'locate'],
    summary: 'Tell where a dir: store is now (plugged in at another path), or scan paths for known stores',
    usage: '[--json] ID PATH | --scan PATH...',
    details:
      'ID is the store\'s id (dir:ID, or a unique prefix of it, see `bazil store list`). The store at PATH\n' +
      'must be that store (its identity file says so). With --scan, every PATH is looked at and each\n' +
      'known store found there is recorded at its new path.',
    options: [JSON_OPTION, { name: 'scan', type: 'boolean', help: 'look for known stores at each PATH' }],
    examples: ['bazil store locate 1a2b3c4d /media/usb2/bazil', 'bazil store locate --scan /media/*/bazil'],
    args: [1, Infinity],
    async run({ dataDir, args, flags }) {
      if (flags.scan !== true && args.length !== 2) throw new BazilError('INVALID_ARGUMENT', 'bazil store locate takes ID PATH (or --scan PATH...)');
      const params = flags.scan === true ? { scan: args.map((a) => resolve(a)) } : { store: args[0], path: resolve(args[1]) };
      const found = await withControl(dataDir, true, (api) => api.call('store.locate', params));
      if (flags.json === true) return printJson(found);
      if (found.length === 0) process.stderr.write('No known store was found at those paths.\n');
      for (const s of found) say(`Store ${s.name} is at ${s.location}.`);
    },
  },
  {
    path: ['store', 'push'],
    summary: "Upload a volume's content the store lacks, from this machine",
    usage: '[--json] VOLUME STORE',
    details:
      'Uploads every object of the volume (its files, snapshots and open conflicts) that is here and not\n' +
      'in the store. Afterwards the store counts as keeping them: the local cache may evict them, and\n' +
      'reads fetch them from the store. STORE is as `bazil store list` names it (or its path).\n' +
      'Needs the bazil server: start it with `bazil server start`.',
    options: [JSON_OPTION],
    examples: ['bazil store push myfiles dir:1a2b3c4d'],
    args: [2, 2],
    async run({ dataDir, args, flags }) {
      // A path (dir:PATH) is made absolute here; a store's name (dir:ID) is passed as it is.
      const store = args[1].startsWith('dir:') && !/^dir:[0-9a-f]+$/.test(args[1]) ? typedStore(args[1]) : args[1];
      const r = await withServer(dataDir, (server) => server.call('store.push', { volume: args[0], store }));
      if (flags.json === true) return printJson(r);
      say(`Pushed ${r.volume} to ${r.store}: ${r.uploaded} objects uploaded (${formatBytes(r.uploadedBytes)}), ${r.present} there already.`);
      if (r.missing > 0 || r.unlisted > 0) {
        process.stderr.write(`${r.missing} objects (and the content under ${r.unlisted} files) are not on this machine and were not uploaded; pin the volume here, then push again.\n`);
      }
    },
  },
];
