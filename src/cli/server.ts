import { readFileSync } from 'node:fs';
import { BazilError, isErrno } from '../engine/errors.js';
import type { ServerInfo } from '../server/api.js';
import type { RunningServer } from '../server/server.js';
import type { Command } from './command.js';
import { escapeLogLine } from './log-line.js';
import { withServer } from './use-datadir.js';

const STOP_TIMEOUT_MS = 60_000;

/** The server's log sink: each call is one line on stderr, whatever text it quotes (see escapeLogLine). */
function log(line: string): void {
  process.stderr.write(`bazil: ${escapeLogLine(line)}\n`);
}

/** True while the process exists and is not a zombie waiting for its parent to reap it. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return !isErrno(err, 'ESRCH');
  }
  try {
    return !/^\d+ \(.*\) Z/s.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false; // gone between the two looks
  }
}

async function waitForExit(pid: number): Promise<void> {
  const deadline = Date.now() + STOP_TIMEOUT_MS;
  while (alive(pid)) {
    if (Date.now() > deadline) {
      throw new BazilError(
        'INTERNAL',
        `the bazil server (pid ${pid}) was asked to stop but is still running after ${STOP_TIMEOUT_MS / 1000} s (it may still be unmounting); see its log, or end it with \`kill ${pid}\``,
      );
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function run(dataDir: string, addr: string | undefined, manualSync: boolean): Promise<void> {
  // Handlers first: a signal that comes while the server starts stops it cleanly too.
  let server: RunningServer | undefined;
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    log(signals++ === 0 ? `${signal}: stopping` : `${signal}: already stopping (unmounting); kill -9 ${process.pid} ends it now`);
    void server?.stop();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    // Loaded here, not at the top: only `server run` needs the server and its FUSE code.
    const { startServer } = await import('../server/server.js');
    server = await startServer({ dataDir, addr, manualSync, log });
    if (signals > 0) void server.stop();
    else process.stdout.write(`bazil: Listening on ${server.info.peerAddress}\n`);
    await server.stopped;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  // Everything is closed; should some handle linger anyway, do not hang `bazil server stop`.
  setTimeout(() => process.exit(), 1000).unref();
}

export const serverCommands: Command[] = [
  {
    path: ['server', 'run'],
    summary: 'Run the bazil server for the data dir (in the foreground; stop it with Ctrl-C or `bazil server stop`)',
    usage: '[-addr=HOST:PORT] [--manual-sync]',
    details:
      'The server holds the data dir, serves its mounts and listens for peers. One runs per data dir.\n' +
      'While it runs, other bazil commands go through it. It prints `bazil: Listening on HOST:PORT` once ready;\n' +
      'by default it listens on [::]:34211, or on any free port when 34211 is taken.\n' +
      'Volumes sync on their own with the peers they sync with (announcing changes, pulling when told, and\n' +
      'catching up every 30 s); with --manual-sync only `bazil volume sync` pulls.',
    options: [
      { name: 'addr', type: 'string', value: 'HOST:PORT', help: 'where to listen for peers (port 0: any free port) (default: [::]:34211, else any free port)' },
      { name: 'manual-sync', type: 'boolean', help: 'sync only when `bazil volume sync` asks' },
    ],
    examples: ['bazil server run &', 'bazil server run -addr=127.0.0.1:0', 'bazil -data-dir=path/to/black server run -addr=[::]:34212'],
    args: [0, 0],
    run: ({ dataDir, flags }) => run(dataDir, flags.addr as string | undefined, flags.manualSync === true),
  },
  {
    path: ['server', 'ping'],
    summary: 'Check that the bazil server for the data dir is running',
    usage: '',
    details: 'Exits 0 when a server answers, 3 when none is running.',
    examples: ['bazil server ping', 'bazil server ping >/dev/null || bazil server run &'],
    args: [0, 0],
    run: ({ dataDir }) =>
      withServer(dataDir, async (server) => {
        const info = await server.call<ServerInfo>('ping');
        process.stdout.write(`bazil server is running (pid ${info.pid}), listening on ${info.peerAddress}\n`);
      }),
  },
  {
    path: ['server', 'stop'],
    summary: 'Stop the bazil server for the data dir, after it unmounts everything',
    usage: '',
    details: 'Waits until the server has exited, so the data dir is free when this returns.',
    examples: ['bazil server stop'],
    args: [0, 0],
    async run({ dataDir }) {
      const pid = await withServer(dataDir, async (server) => {
        const info = await server.call<ServerInfo>('ping');
        await server.call('stop');
        return info.pid;
      });
      await waitForExit(pid);
      process.stdout.write('Stopped the bazil server.\n');
    },
  },
];
