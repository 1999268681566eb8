/**
 * `bazil invite` and `bazil join`: two machines introduced by a short code
 * pasted over chat or read aloud, with no server in the middle. The servers do
 * the work (the inviting one holds the invite, the joining one joins: see
 * bootstrap/invite-*.ts); these commands only call the control API, start the
 * server when it does not run, and say what happened and what to do next.
 */
import type { InviteInfo, JoinResult, SequencedEvent } from '../engine/control/api.js';
import { BazilError } from '../engine/errors.js';
import { ensureServer } from '../bootstrap/introduce.js';
import { openTerminal } from '../bootstrap/terminal.js';
import type { Command } from './command.js';
import { stringList } from './pair.js';
import { serverInfo, withServer } from './use-datadir.js';

const say = (line: string) => process.stdout.write(`${line}\n`);
const hint = (line: string) => process.stderr.write(`${line}\n`);

/** 90s, 10m, 2h (a bare number is seconds) as milliseconds. */
export function parseDuration(text: string): number {
  const m = /^(\d+)(ms|s|m|h)?$/.exec(text.trim());
  if (!m) throw new BazilError('INVALID_ARGUMENT', `"${text}" is not a duration: write e.g. 90s, 10m or 2h`);
  return Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? 's') as 'ms' | 's' | 'm' | 'h'];
}

const clock = (ms: number) => new Date(ms).toISOString().slice(11, 16) + ' UTC';
const shared = (volumes: string[]) => `each side's store${volumes.map((v) => `, volume ${v}`).join('')}`;

async function startedServer(dataDir: string): Promise<void> {
  const local = await ensureServer(dataDir, serverInfo);
  if (local.started) hint(`Started the bazil server here, listening on ${local.info.peerAddress}.`);
}

function printInvite(info: InviteInfo): void {
  const lan = info.onLan;
  say(`Invite ${info.id} is open until ${clock(info.expiresAt)}${info.volumes.length ? `, sharing ${info.volumes.join(', ')}` : ''}. On the other machine, run ${lan ? 'one of' : 'this'}:`);
  if (lan) {
    say(`  bazil join ${info.code}`);
    say(`      on the same network (the other machine finds this one on the LAN)`);
  }
  say(`  bazil join ${info.longCode}`);
  say(`      from anywhere this machine can be reached`);
  if (!lan) say(`(The short code ${info.code} needs LAN discovery, which is off on this server, or it listens on loopback only.)`);
  say('The code works once: a wrong guess closes the invite.');
}

/** Waits for the invite's end, live; Ctrl-C cancels it. */
async function invite(dataDir: string, flags: Record<string, unknown>): Promise<void> {
  const volumes = stringList(flags.volume);
  const expiresMs = typeof flags.expires === 'string' ? parseDuration(flags.expires) : undefined;
  await startedServer(dataDir);
  await withServer(dataDir, async (server) => {
    let settle!: (outcome: { ok: true; line: string[] } | { ok: false; err: BazilError }) => void;
    const outcome = new Promise<{ ok: true; line: string[] } | { ok: false; err: BazilError }>((resolve) => (settle = resolve));
    let id: number | undefined;
    const early: SequencedEvent[] = []; // events that come before the answer to create
    const onEvent = (e: SequencedEvent) => {
      if (id === undefined) return void early.push(e);
      const ev = e.event;
      if (ev.type === 'server.stopping') settle({ ok: false, err: new BazilError('UNAVAILABLE', 'the bazil server stopped; the invite is gone: start the server and run `bazil invite` again') });
      if (!('id' in ev) || ev.id !== id) return;
      if (ev.type === 'invite.joined') {
        settle({
          ok: true,
          line: [
            `${ev.name ?? ev.peer} (${ev.peer}) joined. Verification: ${ev.verification}`,
            '  (the joining screen shows these same words; if not, someone was in the middle: remove the peer with `bazil peer remove`)',
            `Handshakes checked both ways. Shared: ${shared(info.volumes)}.`,
            info.volumes.length
              ? `Next: on ${ev.name ?? 'the other machine'}, mount it: bazil volume mount ${info.volumes[0]} DIR`
              : `Next: share a volume with it: bazil peer volume allow ${ev.name ?? ev.peer} VOLUME (then \`bazil volume connect\` there)`,
          ],
        });
      } else if (ev.type === 'invite.failed') {
        settle({ ok: false, err: new BazilError('UNAUTHORIZED', `invite ${id} failed: ${ev.why}; run \`bazil invite\` again for a new code`) });
      } else if (ev.type === 'invite.expired') {
        settle({ ok: false, err: new BazilError('NOT_FOUND', `invite ${id} expired before anyone joined; run \`bazil invite\` again for a new code (--expires sets how long one lasts)`) });
      }
    };
    await server.subscribe({}, { event: onEvent, end: (err) => settle({ ok: false, err }) });
    const info = await server.call('invite.create', { volumes, ...(expiresMs !== undefined ? { expiresMs } : {}) });
    id = info.id;
    printInvite(info);
    hint('Waiting for the other machine to join (Ctrl-C cancels the invite)...');
    for (const e of early.splice(0)) onEvent(e);
    const cancel = () => {
      const done = () => settle({ ok: false, err: new BazilError('UNAVAILABLE', `invite ${info.id} cancelled (the command was stopped); run \`bazil invite\` again for a new code`) });
      void server.call('invite.cancel', { id: info.id }).then(done, done);
    };
    // The invite lives in the server: a command stopped (Ctrl-C, kill, a closed terminal) takes it along.
    const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
    for (const s of signals) process.once(s, cancel);
    const end = await outcome;
    for (const s of signals) process.off(s, cancel);
    if (!end.ok) throw end.err;
    for (const line of end.line) say(line);
  });
}

async function listInvites(dataDir: string): Promise<void> {
  await withServer(dataDir, async (server) => {
    const open = await server.call('invite.list', {});
    if (open.length === 0) hint('No open invites. `bazil invite` opens one.');
    for (const i of open) say(`${i.id}\tuntil ${clock(i.expiresAt)}\t${i.volumes.join(',') || '-'}`);
  });
}

/** The code: the argument, else one line from standard input when it is not a terminal, else asked on the terminal. */
async function readCode(args: string[]): Promise<string> {
  if (args[0] !== undefined) return args[0];
  if (!process.stdin.isTTY) {
    let text = '';
    for await (const chunk of process.stdin) {
      text += String(chunk);
      if (text.includes('\n') || text.length > 4096) break;
    }
    const line = text.split('\n')[0]!.trim();
    if (line) return line;
  }
  const terminal = openTerminal();
  if (!terminal) throw new BazilError('INVALID_ARGUMENT', 'give the invite code: bazil join CODE, or on standard input (echo CODE | bazil join)');
  return terminal.ask('Invite code: ');
}

function printJoin(r: JoinResult): void {
  const name = r.peer.name ?? r.peer.key;
  for (const line of r.did) say(`${line[0]!.toUpperCase()}${line.slice(1)}.`);
  say(`Joined ${name} (${r.peer.key}). Verification: ${r.verification}`);
  say('  (the inviting screen shows these same words; if not, someone was in the middle: remove the peer with `bazil peer remove`)');
  say(`Handshakes checked both ways. Shared: ${shared(r.volumes)}.`);
  say(r.volumes.length ? `Next: mount it: mkdir DIR && bazil volume mount ${r.volumes[0]} DIR` : `Next: \`bazil volume connect ${name} VOLUME\` once ${name} shares a volume with this machine`);
}

export const inviteCommands: Command[] = [
  {
    path: ['invite'],
    summary: 'Open an invite: a short code another machine joins with `bazil join`, optionally sharing volumes',
    usage: '[--volume NAME]... [--expires 10m] | --list | --cancel ID',
    details:
      'Prints a code (a number and three words) and waits, live, until the other machine joins with it,\n' +
      'the invite fails, or it expires. Both servers then know each other (names, locations, leave to read\n' +
      'the stores) and, with --volume, the other machine has the volumes, their sharing keys sent only inside\n' +
      'the channel the code opened (CPace over ristretto255). The short code works on the same LAN; the long\n' +
      'one carries this server\'s addresses, for use across networks. The code is used once; one wrong guess\n' +
      'closes the invite. Both sides show a few verification words: compare them. Ctrl-C cancels the invite.\n' +
      'Starts the bazil server if it does not run; the invite lives in the server.',
    options: [
      { name: 'volume', type: 'string', multiple: true, value: 'NAME', help: 'also share this volume (repeat for more)' },
      { name: 'expires', type: 'string', value: 'DURATION', help: 'how long the code works: 90s, 10m, 2h (default: 10m)' },
      { name: 'list', type: 'boolean', help: "list this server's open invites, then stop" },
      { name: 'cancel', type: 'number', value: 'ID', help: 'cancel the open invite ID, then stop' },
    ],
    examples: ['bazil invite', 'bazil invite --volume myfiles --expires 30m', 'bazil invite --list'],
    args: [0, 0],
    async run({ dataDir, flags }) {
      if (flags.list === true) return listInvites(dataDir);
      if (typeof flags.cancel === 'number') {
        const id = flags.cancel;
        await withServer(dataDir, (server) => server.call('invite.cancel', { id }));
        say(`Invite ${id} cancelled.`);
        return;
      }
      return invite(dataDir, flags);
    },
  },
  {
    path: ['join'],
    summary: 'Join another machine with the code its `bazil invite` printed',
    usage: '[CODE]',
    details:
      'Finds the inviting machine (on the LAN for the short code, at the long code\'s addresses otherwise),\n' +
      'proves the code without sending it (CPace), and makes the two servers peers of each other, with the\n' +
      'volumes the invite shares connected here. Prints what is now shared and the verification words to\n' +
      'compare with the inviting screen. Without CODE, asks for it on the terminal, or reads it from\n' +
      'standard input. A CODE on the command line is visible to other users of this machine (in `ps`)\n' +
      'while it runs: prefer typing it at the prompt on a shared machine.\n' +
      'Starts the bazil server if it does not run.',
    examples: ['bazil join', 'bazil join 7-apple-river-stone', 'bazil join 7-apple-river-stone@192.0.2.7:40123'],
    args: [0, 1],
    async run({ dataDir, args }) {
      const code = await readCode(args);
      await startedServer(dataDir);
      hint('Joining...');
      printJoin(await withServer(dataDir, (server) => server.call('invite.join', { code })));
    },
  },
];
