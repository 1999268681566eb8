/** `bazil events`: the server's event stream, live, one line per event (JSON lines for scripts). */
import type { BazilEvent, SequencedEvent, SyncCounts } from '../engine/control/api.js';
import { BazilError } from '../engine/errors.js';
import { EVENT_TYPES } from '../engine/events.js';
import { showName } from '../engine/names.js';
import { JSON_OPTION, type Command } from './command.js';
import { withServer } from './use-datadir.js';

const short = (key: string) => key.slice(0, 16);
const counts = (c: SyncCounts) => `${c.copied} new or changed, ${c.deleted} deleted, ${c.conflicts} conflicts${c.postponed ? `, ${c.postponed} waiting for open files` : ''}`;

/** What an event says, in words (after its number, time and type). */
export function describeEvent(e: BazilEvent): string {
  switch (e.type) {
    case 'sync.started':
      return `${e.volume} from ${short(e.peer)}`;
    case 'sync.progress':
      return `${e.volume} from ${short(e.peer)}: ${e.counts.dirs} directories, ${counts(e.counts)}`;
    case 'sync.finished':
      return `${e.volume} from ${short(e.peer)}: ${e.error ? `failed: ${e.error}` : counts(e.counts)}`;
    case 'conflict.found':
      return `${e.volume}:${showName(e.path)} (theirs from ${short(e.peer)})`;
    case 'conflict.resolved':
      return `${e.volume}:${showName(e.path)} (${e.choice})`;
    case 'peer.connected':
      return `${short(e.peer)} at ${e.address}`;
    case 'peer.disconnected':
      return `${short(e.peer)}${e.reason ? `: ${e.reason}` : ''}`;
    case 'peer.refused':
      return `${e.peer ? short(e.peer) : (e.address ?? 'a stranger')}: ${e.what}`;
    case 'mount.added':
    case 'mount.removed':
    case 'mount.died':
      return `${e.volume} on ${e.dir}`;
    case 'fetch.progress':
      return `${e.volume}:${showName(e.path)} ${e.bytes} of ${e.total} bytes`;
    case 'check.progress':
      return `${e.done} of ${e.total} objects verified`;
    case 'invite.joined':
      return `invite ${e.id}: ${e.name ?? short(e.peer)} joined (verification: ${e.verification})`;
    case 'invite.failed':
      return `invite ${e.id}: ${e.why}`;
    case 'invite.expired':
      return `invite ${e.id}`;
    case 'peer.nearby':
      return `${e.hostname} (${e.fingerprint}) at ${e.address}${e.peer ? `: peer ${short(e.peer)}` : ''}`;
    case 'peer.location':
      return `${short(e.peer)} now at ${e.location}${e.was ? ` (was ${e.was})` : ''}`;
    case 'server.stopping':
      return '';
  }
}

function eventLine(e: SequencedEvent): string {
  const time = new Date(e.at).toISOString().slice(11, 23);
  return [String(e.seq), time, e.event.type, describeEvent(e.event)].filter(Boolean).join('\t');
}

export const eventsCommands: Command[] = [
  {
    path: ['events'],
    summary: "Print the server's events live: syncs, conflicts, peers, mounts",
    usage: '[--json] [--since=N [--instance=ID]] [--until=TYPE] [--kept]',
    details:
      'One line per event, as it happens: NUMBER, TIME (UTC), TYPE, then what it is about. Types:\n' +
      `${Object.keys(EVENT_TYPES).slice(0, 7).join(', ')},\n${Object.keys(EVENT_TYPES).slice(7).join(', ')}.\n` +
      'Numbers increase for the life of a server process, named by an instance ID (on stderr when it starts).\n' +
      '--since=N first prints the events after N that the server still keeps; with --instance=ID, the numbers\n' +
      'of a server since restarted count from its first kept event. Either way it warns when some are gone.\n' +
      'Ends when the server stops, after the first event of --until=TYPE, or with --kept when the kept ones\n' +
      'are printed.\n' +
      'Needs the bazil server: start it with `bazil server start`.',
    options: [
      JSON_OPTION,
      { name: 'since', type: 'number', value: 'N', help: 'first print the kept events after number N' },
      { name: 'instance', type: 'string', value: 'ID', help: 'the server instance --since counts in (as printed when it started)' },
      { name: 'until', type: 'string', value: 'TYPE', help: 'stop after the first event of TYPE (e.g. sync.finished)' },
      { name: 'kept', type: 'boolean', help: 'print the kept events after --since, then stop' },
    ],
    examples: ['bazil events', 'bazil events --json', 'bazil events --since=0 --until=sync.finished', 'bazil events --since=120 --kept'],
    args: [0, 0],
    async run({ dataDir, flags }) {
      const json = flags.json === true;
      const until = flags.until as string | undefined;
      const since = flags.since as number | undefined;
      const instance = flags.instance as string | undefined;
      if (since !== undefined && (!Number.isSafeInteger(since) || since < 0)) throw new BazilError('INVALID_ARGUMENT', '--since takes an event number (0 or more)');
      if (until !== undefined && !Object.hasOwn(EVENT_TYPES, until)) {
        throw new BazilError('INVALID_ARGUMENT', `--until takes an event type: ${Object.keys(EVENT_TYPES).join(', ')}`);
      }
      if (flags.kept === true && since === undefined) throw new BazilError('INVALID_ARGUMENT', '--kept prints the kept events after --since=N: give --since too');
      await withServer(dataDir, async (server) => {
        let done!: (err?: BazilError) => void;
        const ended = new Promise<BazilError | undefined>((resolve) => (done = resolve));
        let last = Infinity; // with --kept: the last event kept when subscribed
        let seen = 0;
        const sub = await server.subscribe(
          { since, instance },
          {
            event(e) {
              process.stdout.write((json ? JSON.stringify(e) : eventLine(e)) + '\n');
              seen = e.seq;
              if (e.event.type === until || e.event.type === 'server.stopping' || seen >= last) done();
            },
            end: (err) => done(err),
          },
        );
        process.stderr.write(`bazil: events of server instance ${sub.instance}, last so far ${sub.last}\n`);
        if (sub.missed) process.stderr.write(`bazil: some events after ${since ?? 0} are no longer kept, or the server restarted: refresh what you know\n`);
        if (flags.kept === true) {
          // The kept events may have come in already (they follow the answer closely), or be none.
          last = sub.last;
          if (seen >= last || (!sub.missed && last <= (since ?? 0))) done();
        }
        const err = await ended; // after server.stopping, the server's closing the connection is the stream's end
        if (err) throw err;
      });
    },
  },
];
