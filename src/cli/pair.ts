/**
 * `bazil pair [user@]host`: introduces this data dir and the other machine's
 * to each other over SSH, both ways, and proves it with a handshake. The
 * other side's half runs there as `bazil debug pair-remote` (hidden), fed
 * JSON on stdin over the SSH channel.
 */
import { hostname, homedir } from 'node:os';
import { answerIntroduction, hello, PAIR_PROTOCOL, type HelloAnswer, type IntroduceAnswer, type IntroduceRequest, type SharedVolume } from '../bootstrap/remote-side.js';
import { ensureServer, introduce, locationOf } from '../bootstrap/introduce.js';
import { exec, openSsh, shellQuote, type SshSession } from '../bootstrap/ssh-session.js';
import { resolveTarget } from '../bootstrap/ssh-target.js';
import { openTerminal } from '../bootstrap/terminal.js';
import { BazilError } from '../engine/errors.js';
import type { Command } from './command.js';
import { serverInfo, withControl } from './use-datadir.js';

const say = (line: string) => process.stdout.write(`${line}\n`);
const hint = (line: string) => process.stderr.write(`${line}\n`);

/** Runs `bazil debug pair-remote WHAT` there and reads its one JSON answer; a clear message when bazil is missing or too old. */
async function remote<T>(ssh: SshSession, bazil: string, what: 'hello' | 'introduce', request?: unknown): Promise<T> {
  const r = await exec(ssh, `${shellQuote(bazil)} debug pair-remote ${what}`, request === undefined ? '' : JSON.stringify(request));
  if (r.code === 127 || /command not found|No such file/i.test(r.stderr) && r.stdout === '') {
    throw new BazilError(
      'NOT_FOUND',
      `the other machine has no \`${bazil}\` on its PATH (for a non-interactive SSH session); install bazil there, or give its path with --remote-bazil PATH`,
    );
  }
  if (r.code !== 0 && /unknown command|pair-remote/i.test(r.stderr) && !r.stdout.trim()) {
    throw new BazilError('INVALID_ARGUMENT', `the other machine's bazil is too old to pair (it has no \`debug pair-remote\`); upgrade it there: ${r.stderr.trim()}`);
  }
  if (r.code !== 0) throw new BazilError('UNAVAILABLE', `the other machine's bazil failed (${what}, exit ${r.code}): ${r.stderr.trim() || r.stdout.trim()}`);
  try {
    return JSON.parse(r.stdout) as T;
  } catch {
    throw new BazilError('UNAVAILABLE', `the other machine's bazil answered something other than JSON: ${r.stdout.slice(0, 200)}`);
  }
}

async function pair(dataDir: string, args: string[], flags: Record<string, unknown>): Promise<void> {
  const home = homedir();
  const target = resolveTarget(args[0], home);
  const volumes = stringList(flags.volume);
  const bazil = typeof flags.remoteBazil === 'string' ? flags.remoteBazil : 'bazil';

  const local = await ensureServer(dataDir, serverInfo);
  if (local.started) hint(`Started the bazil server here, listening on ${local.info.peerAddress}.`);
  const shared = await withControl(dataDir, false, async (api) => {
    const out: SharedVolume[] = [];
    for (const name of volumes) out.push({ name, ...(await api.call('pair.volumeSecret', { volume: name })) });
    return out;
  });

  const ssh = await openSsh(target, { home, yes: flags.yes === true, terminal: openTerminal(), say: hint });
  try {
    const there = await remote<HelloAnswer>(ssh, bazil, 'hello');
    if (there.protocol !== PAIR_PROTOCOL) throw new BazilError('INVALID_ARGUMENT', `the other machine's bazil speaks pairing protocol ${there.protocol}, this one ${PAIR_PROTOCOL}; install the same version on both`);
    if (there.startedServer) hint(`Started the bazil server on ${target.alias}, listening on ${there.peerAddress}.`);
    const ours = await withControl(dataDir, false, (api) => api.call('status', {}));
    if (there.key === ours.publicKey) throw new BazilError('INVALID_ARGUMENT', `${target.alias} uses this same data dir (the same key); pair two different data dirs`);

    // Here first: the other side's connect needs our grants and our location there.
    const here = await withControl(dataDir, true, (api) =>
      introduce(api, { key: there.key, hostname: there.hostname, location: locationOf(target.host, there.peerAddress), volumes }),
    );
    const request: IntroduceRequest = {
      protocol: PAIR_PROTOCOL,
      key: ours.publicKey,
      hostname: hostname(),
      location: locationOf(ssh.localAddress, local.info.peerAddress),
      volumes: shared,
    };
    const answer = await remote<IntroduceAnswer>(ssh, bazil, 'introduce', request);
    // The proof, this way: our server completes an authenticated handshake with theirs.
    const reached = await withControl(dataDir, false, (api) => api.call('peer.connect', { key: there.key }));

    for (const line of here.did) say(`Here: ${line}.`);
    for (const line of answer.did) say(`On ${target.alias}: ${line}.`);
    if (here.did.length === 0 && answer.did.length === 0) say(`Already paired with ${here.name}; nothing changed.`);
    say(
      `Paired with ${here.name} (${there.key}) at ${reached.address}; it calls this machine ${answer.name}. ` +
        `Handshakes checked both ways. Shared: each side's store${volumes.map((v) => `, volume ${v}`).join('')}.`,
    );
  } finally {
    ssh.close();
  }
}

/** A repeatable string flag's values (meow gives an array; none: empty). */
export function stringList(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : typeof value === 'string' ? [value] : [];
}

/** What `bazil debug pair-remote` reads: one JSON document on standard input. */
async function readStdin(): Promise<string> {
  let text = '';
  for await (const chunk of process.stdin) text += chunk;
  return text;
}

export const pairCommands: Command[] = [
  {
    path: ['pair'],
    summary: 'Introduce this machine and another over SSH, both ways, optionally sharing volumes',
    usage: '[--volume NAME]... [--yes] [--remote-bazil PATH] [user@]host[:port]',
    details:
      'Logs in like `ssh` (the SSH agent, ~/.ssh/id_ed25519, id_ecdsa, id_rsa, then a password; ~/.ssh/config\n' +
      'applies) and checks the host key against ~/.ssh/known_hosts: an unknown host is shown and asked about\n' +
      '(--yes accepts it), a changed key is refused. Runs `bazil` there (on its PATH, or --remote-bazil), starts\n' +
      'the servers that do not run, and makes each side a peer of the other, named after its host name, with\n' +
      'its location and leave to read the store. With --volume (once per volume), the other side gets the volume\n' +
      'too: its sharing key travels inside the SSH channel only. Running it again finishes an interrupted pairing, or says that\n' +
      'nothing changed. Ends with an authenticated handshake between the two servers.',
    options: [
      { name: 'volume', type: 'string', multiple: true, value: 'NAME', help: 'also share this volume: connected on the other side, syncing both ways (repeat for more)' },
      { name: 'yes', type: 'boolean', help: "accept an unknown host key without asking (check its fingerprint first)" },
      { name: 'remote-bazil', type: 'string', value: 'PATH', help: 'the bazil command on the other machine (default: bazil on its PATH)' },
    ],
    examples: ['bazil pair white.local', 'bazil pair me@192.0.2.7 --volume myfiles --volume photos', 'bazil pair laptop --remote-bazil ~/bin/bazil'],
    args: [1, 1],
    run: ({ dataDir, args, flags }) => pair(dataDir, args, flags),
  },
  {
    path: ['debug', 'pair-remote'],
    summary: "The other machine's half of `bazil pair` (reads JSON on stdin, prints JSON)",
    usage: 'hello|introduce',
    details: 'Run by `bazil pair` over SSH; not for people. hello starts the server if needed and answers this\ndata dir\'s key; introduce reads the request and answers what it did.',
    args: [1, 1],
    async run({ dataDir, args }) {
      let answer: unknown;
      if (args[0] === 'hello') answer = await hello(dataDir, serverInfo, () => withControl(dataDir, false, async (api) => (await api.call('status', {})).publicKey));
      else if (args[0] === 'introduce') {
        const request = JSON.parse(await readStdin()) as IntroduceRequest;
        answer = await withControl(dataDir, true, (api) => answerIntroduction(api, request));
      } else throw new BazilError('INVALID_ARGUMENT', `"${args[0]}" is not hello or introduce`);
      process.stdout.write(`${JSON.stringify(answer)}\n`);
    },
  },
];
