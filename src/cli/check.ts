/** `bazil check` (every reference resolves; --read-data verifies; --repair fixes from a peer) and `bazil gc`. */
import type { CheckProblem } from '../engine/control/check-api.js';
import { BazilError } from '../engine/errors.js';
import { showName } from '../engine/names.js';
import { JSON_OPTION, type Command } from './command.js';
import { formatBytes, printJson } from './format.js';
import { withServer } from './use-datadir.js';

const NEEDS_SERVER = 'Needs the bazil server: start it with `bazil server start`.';

const problemLine = (p: CheckProblem) => `${p.volume}:${showName(p.path)}\t${p.origin}\t${p.kind}${p.repaired ? ' (repaired)' : ''}: ${p.message}`;

/** A duration as typed: 90s, 10m, 2h, 1d, or a number of seconds. */
function parseDuration(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(text.trim());
  if (!m) throw new BazilError('INVALID_ARGUMENT', `"${text}" is not a duration; write it like 90s, 10m or 2h`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] ?? 's']!;
  return Math.round(Number(m[1]) * unit);
}

export const checkCommands: Command[] = [
  {
    path: ['check'],
    summary: 'Check that every file, snapshot and conflict can be read; --read-data verifies what is here',
    usage: '[--read-data] [--repair] [--json] [VOLUME]',
    details:
      'Every reference of the live tree, the snapshots and the open conflicts must reach content that is\n' +
      'here, or on a store known to hold it. --read-data reads, decrypts and verifies every local object\n' +
      'they reach (progress: `bazil events` shows check.progress); --repair (implies --read-data) replaces\n' +
      'each bad one with a verified copy from a peer. Problems are listed by VOLUME:PATH, with where the\n' +
      `reference is. Exits non-zero while problems remain. ${NEEDS_SERVER}`,
    options: [
      { name: 'read-data', type: 'boolean', help: 'read, decrypt and verify every local object' },
      { name: 'repair', type: 'boolean', help: 'replace bad local objects with good copies from peers' },
      JSON_OPTION,
    ],
    examples: ['bazil check', 'bazil check --read-data myfiles', 'bazil check --repair myfiles'],
    args: [0, 1],
    async run({ dataDir, args, flags }) {
      const repair = flags.repair === true;
      const readData = flags.readData === true || repair;
      const r = await withServer(dataDir, async (server) => {
        // On a terminal, a progress line from the server's check.progress events.
        const progress = readData && process.stderr.isTTY && flags.json !== true;
        if (progress) {
          await server.subscribe(
            {},
            {
              event: ({ event: e }) => void (e.type === 'check.progress' && process.stderr.write(`\rverified ${e.done} of ${e.total} objects\x1b[K`)),
              end: () => {},
            },
          );
        }
        const result = await server.call('check', { ...(args[0] ? { volume: args[0] } : {}), readData, repair });
        if (progress) process.stderr.write('\r\x1b[K');
        return result;
      });
      const left = r.problems.filter((p) => !p.repaired);
      if (flags.json === true) printJson(r);
      else {
        for (const p of r.problems) process.stdout.write(`${problemLine(p)}\n`);
        const verified = r.verified ? `, ${r.verified} verified (${formatBytes(r.verifiedBytes)})` : '';
        process.stderr.write(
          `Checked ${r.references} references: ${r.objects} objects, ${r.local} here, ${r.elsewhere} on other stores${verified}, in ${(r.ms / 1000).toFixed(1)} s.\n`,
        );
      }
      if (left.length === 0) return;
      const bad = left.some((p) => p.kind === 'corrupt');
      const next = bad && !repair ? ' run `bazil check --repair` to fetch good copies from a peer;' : '';
      throw new BazilError(
        'CORRUPT',
        `${left.length} problem${left.length === 1 ? '' : 's'} remain${left.length === 1 ? 's' : ''};${next} for content known nowhere, bring back the peer that wrote it and sync, or restore the file from a snapshot`,
      );
    },
  },
  {
    path: ['gc'],
    summary: 'Remove local objects that no file, snapshot or conflict references',
    usage: '[--min-age=DURATION] [--json]',
    details:
      'Safe while files are written and volumes sync: objects written or read while it runs, and by writes\n' +
      'under way when it starts, are kept. The server also collects on its own a minute after changes settle,\n' +
      'and every hour. Objects this store told a peer it keeps are removed only once that peer says it no\n' +
      'longer needs them (or another store keeps them). Tombstones every peer has seen are forgotten too.\n' +
      NEEDS_SERVER,
    options: [{ name: 'min-age', type: 'string', value: 'DURATION', help: 'keep objects written in the last DURATION (like 10m; default 0)' }, JSON_OPTION],
    examples: ['bazil gc', 'bazil gc --min-age=1h'],
    args: [0, 0],
    async run({ dataDir, flags }) {
      const minAge = typeof flags.minAge === 'string' ? parseDuration(flags.minAge) : 0;
      const r = await withServer(dataDir, (server) => server.call('gc', { minAge }));
      if (flags.json === true) return printJson(r);
      process.stdout.write(`Removed ${r.removed} of ${r.objects} objects (${formatBytes(r.removedBytes)}); ${r.referenced} are referenced.\n`);
      const spared = [
        r.sparedRecent && `${r.sparedRecent} written or read too recently`,
        r.sparedForPeers && `${r.sparedForPeers} a peer still needs (or could not be asked about)`,
        r.sparedUnknown && `${r.sparedUnknown} a reference that could not be read may need`,
      ].filter(Boolean);
      if (spared.length) process.stdout.write(`Kept unreferenced: ${spared.join(', ')}.\n`);
      if (r.tombstonesForgotten) process.stdout.write(`Forgot ${r.tombstonesForgotten} tombstones every peer has seen.\n`);
      for (const p of r.problems) process.stderr.write(`${p}\n`);
      if (r.problems.length) process.stderr.write('Bring back the peers named above (or run `bazil check`) and collect again to remove the rest.\n');
    },
  },
];
