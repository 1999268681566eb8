/**
 * `bazil` in a terminal (and `bazil tui`): connects to the data dir's server,
 * offers to create the data dir and start the server when they are missing,
 * and runs the screen until q. Drawn on the terminal's alternate screen, so
 * the shell's scrollback is as it was after quitting.
 */
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { render } from 'ink';
import { ensureServer } from '../bootstrap/introduce.js';
import { serverInfo } from '../cli/use-datadir.js';
import { BazilError } from '../engine/errors.js';
import { App, type Boot } from './app.js';
import { Feed, socketConnector } from './feed.js';
import { Model } from './model.js';
import { sshPairing } from './pair.js';

/** Runs this same bazil with words; resolves with what it printed, rejects with it when it fails. */
function runBazil(dataDir: string, words: string[]): Promise<string> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [process.argv[1], `--data-dir=${resolve(dataDir)}`, ...words], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (out += s));
    child.on('close', (code) => (code === 0 ? done(out.trim()) : fail(new BazilError('INTERNAL', out.trim().replace(/^bazil: /, '') || `\`bazil ${words.join(' ')}\` failed (exit ${code})`))));
  });
}

const ENTER_ALT_SCREEN = '\x1b[?1049h';
const LEAVE_ALT_SCREEN = '\x1b[?1049l';

export async function runTui(dataDir: string, opts: { firstRun?: boolean } = {}): Promise<number> {
  const model = new Model();
  const feed = new Feed(model, socketConnector(dataDir));
  await feed.start();
  const boot: Boot = {
    dataDir: resolve(dataDir),
    firstRun: opts.firstRun ?? false,
    createDataDir: async () => (await runBazil(dataDir, ['create'])).split('\n')[0],
    async startServer() {
      const { info, started } = await ensureServer(dataDir, serverInfo);
      return started
        ? `Started the bazil server (pid ${info.pid}), listening on ${info.peerAddress}; its log is ${resolve(dataDir, 'server.log')}.`
        : `The bazil server is running (pid ${info.pid}).`;
    },
    started: () => feed.reconnect(),
  };
  const leave = () => process.stdout.write(LEAVE_ALT_SCREEN);
  process.stdout.write(ENTER_ALT_SCREEN);
  process.once('exit', leave);
  try {
    const app = render(<App model={model} api={feed.api} refresh={(t) => feed.refresh(t)} boot={boot} pairing={sshPairing(dataDir)} />, { exitOnCtrlC: false, maxFps: 20 });
    await app.waitUntilExit();
  } finally {
    feed.stop();
    process.off('exit', leave);
    leave();
  }
  return 0;
}
