/**
 * The terminal UI end to end, in a real terminal: tmux runs the real `bazil`
 * against two real servers with real mounts. A conflict made by writing on
 * both mounts shows in the Conflicts panel with no key pressed, is resolved
 * with keys, and both mounts then hold the chosen content (read with `cat`).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { fuseUnavailable } from '../fuse/mount-helpers.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BAZIL, bazil } from '../helpers.js';
import { eventually, makeHost, shareVolume, type Host } from '../sync/hosts.js';

const noTmux = spawnSync('tmux', ['-V']).status === 0 ? false : 'tmux is not installed (scripts/system-deps.sh --test installs it)';
const skip = fuseUnavailable() || noTmux;

/** A tmux server of its own, with one 100×30 window running `bazil` for a host (or with env alone). */
function terminal(t: Parameters<typeof makeHost>[0], host: Pick<Host, 'name'> & Partial<Host>, env: Record<string, string> = {}, prefix: string[] = []) {
  const sock = `bazil-tui-${process.pid}-${host.name}`;
  const tmux = (...args: string[]) => execFileSync('tmux', ['-L', sock, ...args], { encoding: 'utf8' });
  // Not CI: Ink draws only the last frame when it believes it runs in CI.
  const vars = Object.entries({ ...(host.dataDir ? { BAZIL_DATA_DIR: host.dataDir } : {}), ...env }).map(([k, v]) => `${k}=${v}`);
  tmux('new-session', '-d', '-s', 'tui', '-x', '100', '-y', '30', '-c', '/', ...prefix, 'env', '-u', 'CI', ...vars, process.execPath, BAZIL);
  t.after(() => spawnSync('tmux', ['-L', sock, 'kill-server']));
  const pane = (escapes = false) => tmux('capture-pane', '-p', ...(escapes ? ['-e'] : []), '-t', 'tui');
  return {
    pane,
    key: (key: string) => tmux('send-keys', '-t', 'tui', key),
    resize: (x: number, y: number) => tmux('resize-window', '-t', 'tui', '-x', String(x), '-y', String(y)),
    /** Polls the pane until it shows text; returns the pane. */
    async sees(text: string | RegExp, ms = 15_000): Promise<string> {
      let last = '';
      await eventually(() => {
        last = pane();
        return typeof text === 'string' ? last.includes(text) : text.test(last);
      }, ms, `the terminal showing ${text}`).catch(() => assert.fail(`the terminal never showed ${text}; it shows:\n${last}`));
      return last;
    },
  };
}

test('a conflict shows in the Conflicts panel by itself, is resolved with keys, and both mounts hold the chosen content', { skip }, async (t) => {
  const a = await makeHost(t, 'a');
  const b = await makeHost(t, 'b');
  await shareVolume([a, b], 'v', ['--manual-sync']);
  await a.ok('echo v1 >mnt/f.txt');
  await b.ok(`bazil volume sync v ${a.key}`);

  const tui = terminal(t, b, { NO_COLOR: '1' });
  await tui.sees(/server pid \d+/);
  await tui.sees(/^v +\S+\/mnt/m);
  tui.key('3');
  await tui.sees('No open conflicts');

  await a.ok('echo "a edit" >mnt/f.txt');
  await b.ok('echo "b edit" >mnt/f.txt');
  const changed = Date.now();
  await b.ok(`bazil volume sync v ${a.key}`); // another process: the TUI is told by the event stream
  const pane = await tui.sees('changed on both sides');
  t.diagnostic(`conflict shown ${Date.now() - changed} ms after the sync began`);
  assert.match(pane, /f\.txt +\S+ +changed on both sides/);
  assert.match(pane, /3 Conflicts \(1\)/);
  assert.doesNotMatch(tui.pane(true), /\x1b\[(3[0-7]|9[0-7]|38;)/, 'NO_COLOR: no colors');

  tui.key('Enter');
  await tui.sees(/b edit +│/);
  tui.key('t');
  await tui.sees('took theirs');
  tui.key('Escape');
  await tui.sees('No open conflicts');

  assert.equal(await b.ok('cat mnt/f.txt'), 'a edit\n');
  await a.ok(`bazil volume sync v ${b.key}`);
  assert.equal(await a.ok('cat mnt/f.txt'), 'a edit\n');
  assert.equal(await a.ok('bazil conflicts list'), '');

  // It follows a resize: at 80×24 every line fits, and the bottom bar is on the last one but one.
  tui.resize(80, 24);
  await eventually(() => {
    const lines = tui.pane().split('\n');
    return lines.every((l) => [...l].length <= 80) && /\? keys {2}q quit$/.test(lines[22]);
  }, 10_000, 'the screen redrawn at 80×24');

  tui.key('q');
  await eventually(() => spawnSync('tmux', ['-L', `bazil-tui-${process.pid}-b`, 'has-session', '-t', 'tui']).status !== 0, 5000, 'the TUI quitting');
});

test('an invite made in the TUI is joined from the CLI of another data dir', { skip }, async (t) => {
  const a = await makeHost(t, 'a');
  await a.start();
  const tui = terminal(t, a);
  await tui.sees(/server pid \d+/);
  tui.key('2'); // one key at a time: keys that come in one read are taken as pasted text
  await tui.sees('LAST SEEN');
  tui.key('i');
  await tui.sees('Volumes to share with it');
  tui.key('Enter');
  // The server listens on loopback: no LAN announcement, so the TUI shows the long code only.
  const pane = await tui.sees(/bazil join \S+@\S+/);
  const code = /bazil join (\S+@\S+)/.exec(pane)![1];
  const b = await makeHost(t, 'b');
  await b.start();
  await b.ok(`bazil join ${code}`);
  await tui.sees('joined.');
  tui.key('Escape');
  await tui.sees(/connected/);
});

// The server the TUI starts listens where `bazil server start` does by default ([::]:34211): in a
// network namespace of its own (no interface up), where nothing can reach it. Its control socket is a file.
const noNetns = spawnSync('unshare', ['-n', 'true']).status === 0 ? false : 'cannot make a network namespace here (unshare -n needs root)';

test('first run in a terminal: bazil offers to create the data dir and start the server, and does', { skip: noTmux || noNetns }, async (t) => {
  const home = mkdtempSync(join(tmpdir(), 'bazil-tui-home-'));
  const dataDir = `${home}/.local/share/bazil`;
  t.after(async () => {
    await bazil([`--data-dir=${dataDir}`, 'server', 'stop']); // the one the TUI started, before its data dir goes
    rmSync(home, { recursive: true, force: true });
  });
  const tui = terminal(t, { name: 'first' }, { HOME: home, XDG_DATA_HOME: '', BAZIL_DATA_DIR: '' }, ['unshare', '-n']);
  await tui.sees(`There is no data dir in ${dataDir} yet`);
  assert.match(tui.pane(true), /\x1b\[(3[0-7]|9[0-7]|38;)/, 'colors without NO_COLOR (the other test checks they go with it)');
  tui.key('y');
  await tui.sees(/server pid \d+/);
  await tui.sees('No volumes yet');
  const status = await bazil([`--data-dir=${dataDir}`, 'server', 'ping']);
  assert.equal(status.code, 0, status.stderr);
  tui.key('q');
});
