/**
 * The terminal UI under load (not part of `npm run bench`; run it alone:
 * `npx tsc -p . && node dist/bench/tui.js`). Two real servers share a volume
 * (as the sync tests set them up), the real `bazil` runs in tmux at 100×30 on
 * the second one, and:
 *  (a) 10,000 files (100 directories of 100) written on the first side are
 *      synced to the second (`bazil volume sync`) while the TUI shows the
 *      Activity panel: the TUI's CPU time over the sync, the events it got,
 *      and how long a key takes to show its panel in the middle of it;
 *  (b) with servers that sync on their own: the time from writing a file on
 *      both sides at once to the conflict showing in the second one's TUI;
 *  (c) in this process, no server: 10,000 events (fetch progress of 5,000
 *      files, sync progress) streamed into the TUI's feed as fast as they
 *      come, drawn on a 100×30 fake terminal: CPU time, frames drawn.
 * It also prints the captured pane of each panel (the report's screenshots).
 * BAZIL_BENCH_TUI_FILES sets the file count; BAZIL_BENCH_TUI_BURST_ONLY=1 runs (c) alone.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import { render } from 'ink';
import { createElement } from 'react';
import type { ControlApi, MethodName, Params, Result } from '../src/engine/control/api.js';
import type { EventHandler } from '../src/engine/control/client.js';
import { App } from '../src/tui/app.js';
import { Feed } from '../src/tui/feed.js';
import { Model } from '../src/tui/model.js';
import { loadavg } from 'node:os';
import type { TestContext } from 'node:test';
import { BAZIL } from '../test/helpers.js';
import { eventually, makeHost, shareVolume, type Host } from '../test/sync/hosts.js';

const FILES = Number(process.env.BAZIL_BENCH_TUI_FILES || 10_000);
const cleanups: (() => unknown)[] = [];
const t = { after: (fn: () => unknown) => cleanups.push(fn) } as unknown as TestContext;

/** CPU seconds a process has used (user + system). */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '').split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (100 a second here)
}

function terminal(host: Host, name: string) {
  const sock = `bazil-tui-bench-${process.pid}-${name}`;
  const tmux = (...args: string[]) => execFileSync('tmux', ['-L', sock, ...args], { encoding: 'utf8' });
  tmux('new-session', '-d', '-s', 'tui', '-x', '100', '-y', '30', '-c', '/', 'env', '-u', 'CI', `BAZIL_DATA_DIR=${host.dataDir}`, process.execPath, BAZIL);
  cleanups.push(() => spawnSync('tmux', ['-L', sock, 'kill-server']));
  const pane = () => tmux('capture-pane', '-p', '-t', 'tui');
  const pid = Number(tmux('list-panes', '-t', 'tui', '-F', '#{pane_pid}').trim());
  return {
    pane,
    pid,
    key: (k: string) => tmux('send-keys', '-t', 'tui', k),
    async sees(text: string | RegExp, ms = 60_000) {
      await eventually(() => (typeof text === 'string' ? pane().includes(text) : text.test(pane())), ms, `the pane showing ${text}`);
      return pane();
    },
  };
}

async function main() {
  console.log(`TUI bench: ${FILES} files, load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  const a = await makeHost(t, 'a');
  const b = await makeHost(t, 'b');
  await shareVolume([a, b], 'v', ['--manual-sync']);
  const tui = terminal(b, 'b');
  await tui.sees(/server pid \d+/);

  // (a) A big sync, streamed to the Activity panel.
  await a.ok(`cd mnt && for d in $(seq 1 ${Math.ceil(FILES / 100)}); do mkdir d$d; for f in $(seq 1 100); do echo "file $d/$f" >d$d/f$f; done; done`);
  tui.key('4');
  await tui.sees('TIME      EVENT');
  const before = Number((await b.ok('bazil events --since=0 --kept --json | tail -1')).match(/"seq":(\d+)/)?.[1] ?? 0);
  const cpu0 = cpuSeconds(tui.pid);
  const t0 = Date.now();
  const sync = b.ok(`bazil volume sync v ${a.key}`);
  // A key in the middle of the sync: how long until its panel shows.
  await tui.sees(/syncing v from/);
  const k0 = Date.now();
  tui.key('5');
  await tui.sees('Cache [');
  const keyMs = Date.now() - k0;
  tui.key('4');
  await sync;
  const wall = (Date.now() - t0) / 1000;
  await tui.sees(/sync\.finished +v from/);
  const cpu = cpuSeconds(tui.pid) - cpu0;
  const after = Number((await b.ok('bazil events --since=0 --kept --json | tail -1')).match(/"seq":(\d+)/)?.[1] ?? 0);
  console.log(`(a) sync of ${FILES} files: ${wall.toFixed(1)} s, ${after - before} events; TUI CPU ${cpu.toFixed(2)} s (${((100 * cpu) / wall).toFixed(0)}% of one core); a key during it showed its panel in ${keyMs} ms`);

  // Screenshots, each panel at 100×30.
  await a.ok('echo "a edit" >mnt/d1/f1');
  await b.ok('echo "b edit" >mnt/d1/f1');
  await b.ok(`bazil volume sync v ${a.key}`);
  await b.ok('bazil pin mnt/d2 && bazil volume snapshot v before-bench');
  for (const k of ['1', '2', '3', '4', '5']) {
    tui.key(k);
    await new Promise((r) => setTimeout(r, 700));
    console.log(`\n--- panel ${k} (100×30) ---\n${tui.pane().replace(/\n+$/, '')}`);
  }
  tui.key('3');
  tui.key('Enter');
  await tui.sees('Mine (here)');
  console.log(`\n--- panel 3, enter (100×30) ---\n${tui.pane().replace(/\n+$/, '')}`);
  tui.key('b');
  await tui.sees('Kept both: yours in place');
  console.log(`\n--- panel 3, enter, b (100×30) ---\n${tui.pane().replace(/\n+$/, '')}`);
}

async function conflictLatency() {
  // (b) Servers that sync on their own: a change on each side at once, until the TUI shows the conflict.
  const a = await makeHost(t, 'ca');
  const b = await makeHost(t, 'cb');
  await shareVolume([a, b], 'v');
  const tui = terminal(b, 'cb');
  await tui.sees(/server pid \d+/);
  tui.key('3');
  const times: number[] = [];
  for (let i = 0; i < 3; i++) {
    await a.ok(`echo v1 >mnt/c${i}`);
    await eventually(async () => (await b.sh(`cat mnt/c${i}`)).stdout === 'v1\n', 20_000);
    await new Promise((r) => setTimeout(r, 500));
    const t0 = Date.now();
    await Promise.all([a.ok(`echo "a edit" >mnt/c${i}`), b.ok(`echo "b edit" >mnt/c${i}`)]);
    try {
      await tui.sees(new RegExp(`c${i} +\\S+ +changed on both sides`), 30_000);
      times.push(Date.now() - t0);
    } catch {
      console.log(`(b) round ${i}: no conflict within 30 s (one change reached the other side first)`);
    }
  }
  console.log(`(b) from writing on both sides to the conflict in the TUI: ${times.map((ms) => `${ms} ms`).join(', ') || 'no conflict made'}`);
}

/** A terminal that counts what is written to it. */
class CountingTty extends EventEmitter {
  isTTY = true;
  columns = 100;
  rows = 30;
  writes = 0;
  bytes = 0;
  write(s: string) {
    this.writes++;
    this.bytes += s.length;
    return true;
  }
}

/** A keyboard nobody types on. */
class IdleKeyboard extends EventEmitter {
  isTTY = true;
  setRawMode() {}
  setEncoding() {}
  resume() {}
  pause() {}
  ref() {}
  unref() {}
  read() {
    return null;
  }
}

async function burst(n = 10_000) {
  const model = new Model();
  let handler!: EventHandler;
  const answers: Partial<Record<MethodName, unknown>> = {
    ping: { pid: 1, peerAddress: '127.0.0.1:34211', dataDir: '/d' },
    status: { dataDir: '/d', publicKey: 'a'.repeat(64), sharingKeys: ['default'], volumes: [{ name: 'v', sharingKey: 'default', mounts: ['/m'] }], peers: [], conflicts: [] },
    'conflicts.list': [],
    'pin.list': [],
    'peer.nearby': [],
  };
  const api: ControlApi = { call: async <M extends MethodName>(m: M, _p: Params<M>) => answers[m] as Result<M> };
  const feed = new Feed(model, async () => ({ api, subscribe: async (_p, h) => ((handler = h), { instance: 'x', last: 0, missed: false }), close() {} }));
  await feed.start();
  const tty = new CountingTty();
  const app = render(createElement(App, { model, api: feed.api, refresh: (t) => feed.refresh(t) }), {
    stdout: tty as unknown as NodeJS.WriteStream,
    stdin: new IdleKeyboard() as unknown as NodeJS.ReadStream,
    patchConsole: false,
    exitOnCtrlC: false,
    maxFps: 20,
  });
  await new Promise((r) => setTimeout(r, 300));
  const writes0 = tty.writes;
  const cpu0 = process.cpuUsage();
  const t0 = Date.now();
  // As a socket hands them over: a few hundred at a time, each batch in its own turn of the event loop.
  for (let seq = 1; seq <= n; ) {
    for (let k = 0; k < 250 && seq <= n; k++, seq++) {
      const file = Math.floor(seq / 2);
      handler.event({
        seq,
        at: Date.now(),
        event: seq % 2 ? { type: 'fetch.progress', volume: 'v', path: `/d/f${file}`, bytes: seq % 4 === 1 ? 0 : 4096, total: 4096 } : { type: 'sync.progress', volume: 'v', peer: 'b'.repeat(64), counts: { dirs: seq / 100, copied: seq, deleted: 0, conflicts: 0, postponed: 0 } },
      });
    }
    await new Promise((r) => setImmediate(r));
  }
  const delivered = Date.now() - t0;
  await new Promise((r) => setTimeout(r, 500)); // the last frames
  const cpu = process.cpuUsage(cpu0);
  console.log(
    `(c) ${n} events streamed into the TUI in ${delivered} ms; ${tty.writes - writes0} frames drawn; CPU ${((cpu.user + cpu.system) / 1000).toFixed(0)} ms (user ${(cpu.user / 1000).toFixed(0)}, system ${(cpu.system / 1000).toFixed(0)}) including the last 500 ms`,
  );
  app.unmount();
  feed.stop();
}

try {
  await burst();
  if (!process.env.BAZIL_BENCH_TUI_BURST_ONLY) {
    await main();
    await conflictLatency();
  }
} finally {
  for (const fn of cleanups) await fn(); // in the order registered, as node:test runs them
}
