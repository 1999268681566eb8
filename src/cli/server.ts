import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { dataDirExists } from '../engine/datadir.js';
import { BazilError, isErrno, type ErrorCode } from '../engine/errors.js';
import type { RunningServer } from '../server/server.js';
import type { Command } from './command.js';
import { EXIT_CODES } from './exit.js';
import { LogFile, rotateIfFull } from './log-file.js';
import { escapeLogLine } from './log-line.js';
import { noServer, serverInfo, withServer } from './use-datadir.js';

const STOP_TIMEOUT_MS = 60_000;
const START_TIMEOUT_MS = 60_000;
/** Signals that stop the server cleanly. SIGHUP: the terminal it ran in was closed. */
const STOP_SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

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

async function run(dataDir: string, addr: string | undefined, manualSync: boolean, discovery: boolean, logPath: string | undefined): Promise<void> {
  dataDir = resolve(dataDir);
  // What ps and top show. Short (~ for the home directory): the title cannot
  // be longer than the command line the process was started with.
  const home = homedir();
  process.title = `bazil server ${dataDir.startsWith(`${home}/`) ? `~${dataDir.slice(home.length)}` : dataDir}`;
  // A closed terminal fails every write (EIO): the server carries on, unheard.
  process.stderr.on('error', () => {});
  const file = logPath === undefined ? undefined : new LogFile(resolve(logPath));
  // The server's log sink: each call is one line, whatever text it quotes (see escapeLogLine).
  const log = (text: string) => {
    const line = `bazil: ${escapeLogLine(text)}`;
    if (file) file.write(line);
    else process.stderr.write(`${line}\n`);
  };
  // On a terminal, which is likely the one the user types commands in, what a
  // command prints itself is not said twice (a log file or a pipe gets it all).
  const note = (text: string) => {
    if (file || !process.stderr.isTTY) log(text);
  };
  // Handlers first: a signal that comes while the server starts stops it cleanly too.
  let server: RunningServer | undefined;
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    log(signals++ === 0 ? `${signal}: stopping` : `${signal}: already stopping (unmounting); kill -9 ${process.pid} ends it now`);
    void server?.stop();
  };
  for (const signal of STOP_SIGNALS) process.on(signal, onSignal);
  try {
    // Loaded here, not at the top: only `server run` needs the server and its FUSE code.
    const { startServer } = await import('../server/server.js');
    server = await startServer({ dataDir, addr, manualSync, discovery, log, note });
    if (signals > 0) void server.stop();
    else {
      const listening = `bazil: Listening on ${server.info.peerAddress}`;
      process.stdout.write(`${listening}\n`);
      file?.write(listening);
    }
    await server.stopped;
  } finally {
    for (const signal of STOP_SIGNALS) process.off(signal, onSignal);
  }
  // Everything is closed; should some handle linger anyway, do not hang `bazil server stop`.
  setTimeout(() => process.exit(), 1000).unref();
}

/** The error code a `bazil` exit code stands for (the first, where several share one). */
function codeOfExit(exit: number | null): ErrorCode {
  const found = Object.entries(EXIT_CODES).find(([, n]) => n === exit);
  return (found?.[0] as ErrorCode | undefined) ?? 'INTERNAL';
}

/** What was appended to a file since offset (all of it if it is new since). */
function readFrom(path: string, offset: number): string {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return '';
  }
  try {
    const size = statSync(path).size;
    if (size < offset) offset = 0; // the log was moved to .1 and begun again
    const buf = Buffer.alloc(size - offset);
    readSync(fd, buf, 0, buf.length, offset);
    return buf.toString('utf8');
  } finally {
    closeSync(fd);
  }
}

/**
 * `server start`: runs `server run` detached from the terminal (its own
 * session, working directory /, log in DATADIR/server.log), and returns once
 * it listens, or says why it did not start, with its exit code.
 */
async function start(dataDir: string, runArgs: string[]): Promise<void> {
  dataDir = resolve(dataDir);
  if (!dataDirExists(dataDir)) throw noServer(dataDir);
  const running = await serverInfo(dataDir).catch(() => undefined);
  if (running) {
    process.stdout.write(`The bazil server is already running (pid ${running.pid}), listening on ${running.peerAddress}.\n`);
    return;
  }
  const logPath = join(dataDir, 'server.log');
  rotateIfFull(logPath); // here, so that the server's standard error below and the log are one file
  let offset = 0;
  try {
    offset = statSync(logPath).size;
  } catch {
    // no log yet
  }
  const fd = openSync(logPath, 'a', 0o600); // what the server does not log itself (a crash) lands here too
  const child = spawn(process.execPath, [process.argv[1], `--data-dir=${dataDir}`, 'server', 'run', `--log=${logPath}`, ...runArgs], {
    detached: true,
    stdio: ['ignore', 'ignore', fd],
    cwd: '/', // never hold the directory start was run in (it may be a mount)
  });
  closeSync(fd);
  let exit: number | null | undefined;
  child.on('exit', (code, signal) => (exit = code ?? (signal ? 128 : 1)));
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    await new Promise((r) => setTimeout(r, 100));
    const written = readFrom(logPath, offset);
    const listening = /bazil: Listening on (\S+)/.exec(written);
    if (listening) {
      child.unref();
      process.stdout.write(`Started the bazil server (pid ${child.pid}), listening on ${listening[1]}; its log is ${logPath}.\n`);
      return;
    }
    if (exit !== undefined) {
      const lines = written.split('\n').filter(Boolean).map((l) => l.replace(/^\S+Z bazil: /, '').replace(/^bazil: /, ''));
      const why = lines.at(-1) ?? `it exited with code ${exit}`;
      throw new BazilError(codeOfExit(exit), `the bazil server did not start: ${why}\n(its log: ${logPath})`);
    }
    if (Date.now() > deadline) {
      child.unref();
      throw new BazilError('INTERNAL', `the bazil server (pid ${child.pid}) has not said it listens after ${START_TIMEOUT_MS / 1000} s; see ${logPath}`);
    }
  }
}

const RUN_OPTIONS: Command['options'] = [
  { name: 'addr', type: 'string', value: 'HOST:PORT', help: 'where to listen for peers (port 0: any free port) (default: [::]:34211, else any free port)' },
  { name: 'manual-sync', type: 'boolean', help: 'sync only when `bazil volume sync` asks' },
  { name: 'discovery', type: 'boolean', default: true, help: 'announce this server on the LAN and list the others (mDNS); --no-discovery or BAZIL_DISCOVERY=0 turns it off' },
];

/** The `server run` flags that `server start` passes on. */
function runArgs(flags: Record<string, unknown>): string[] {
  return [
    ...(flags.addr !== undefined ? [`--addr=${flags.addr as string}`] : []),
    ...(flags.manualSync === true ? ['--manual-sync'] : []),
    ...(flags.discovery === false ? ['--no-discovery'] : []),
  ];
}

export const serverCommands: Command[] = [
  {
    path: ['server', 'run'],
    summary: 'Run the bazil server for the data dir in the foreground (stop it with Ctrl-C or `bazil server stop`)',
    usage: '[-addr=HOST:PORT] [--manual-sync] [--no-discovery] [--log=FILE]',
    details:
      'The server holds the data dir, serves its mounts and listens for peers. One runs per data dir.\n' +
      'While it runs, other bazil commands go through it. It prints `bazil: Listening on HOST:PORT` once ready;\n' +
      'by default it listens on [::]:34211, or on any free port when 34211 is taken.\n' +
      'Volumes sync on their own with the peers they sync with (announcing changes, pulling when told, and\n' +
      'catching up every 30 s); with --manual-sync only `bazil volume sync` pulls.\n' +
      'It announces itself on the LAN (mDNS, `_bazil._tcp`, with its key\'s fingerprint) and lists the bazil servers\n' +
      'it hears (`bazil peer nearby`); a known peer heard at a new address gets it as its location once a handshake\n' +
      'there proves its key. --no-discovery (or BAZIL_DISCOVERY=0) turns both off.\n' +
      'Ctrl-C, SIGTERM and SIGHUP (its terminal closed) stop it cleanly: it unmounts everything first.\n' +
      'To run it in the background, detached from the terminal, use `bazil server start`.',
    options: [
      ...RUN_OPTIONS!,
      { name: 'log', type: 'string', value: 'FILE', help: 'log to FILE (timestamped; past 1 MiB it moves to FILE.1) instead of standard error' },
    ],
    examples: ['bazil server run', 'bazil server run -addr=127.0.0.1:0', 'bazil -data-dir=path/to/black server run -addr=[::]:34212'],
    args: [0, 0],
    run: ({ dataDir, flags }) =>
      run(dataDir, flags.addr as string | undefined, flags.manualSync === true, flags.discovery !== false, flags.log as string | undefined),
  },
  {
    path: ['server', 'start'],
    summary: 'Start the bazil server for the data dir in the background; returns once it listens',
    usage: '[-addr=HOST:PORT] [--manual-sync] [--no-discovery]',
    details:
      'Runs `bazil server run` detached from the terminal, logging to DATADIR/server.log (past 1 MiB the log\n' +
      'moves to server.log.1). Returns once the server listens, printing its pid and address; if it cannot\n' +
      'start, prints why and exits with the code `bazil server run` would. A server that runs already is left as\n' +
      'it is. To start it at login instead, see the systemd user unit in contrib/systemd/.',
    options: RUN_OPTIONS,
    examples: ['bazil server start', 'bazil -data-dir=white server start -addr=127.0.0.1:0'],
    args: [0, 0],
    run: ({ dataDir, flags }) => start(dataDir, runArgs(flags)),
  },
  {
    path: ['server', 'ping'],
    summary: 'Check that the bazil server for the data dir is running',
    usage: '',
    details: 'Exits 0 when a server answers, 3 when none is running.',
    examples: ['bazil server ping', 'bazil server ping >/dev/null || bazil server start'],
    args: [0, 0],
    run: ({ dataDir }) =>
      withServer(dataDir, async (server) => {
        const info = await server.call('ping', {});
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
        const info = await server.call('ping', {});
        await server.call('stop', {});
        return info.pid;
      });
      await waitForExit(pid);
      process.stdout.write('Stopped the bazil server.\n');
    },
  },
];
