/**
 * The server as a per-user daemon: `bazil server start` in the background,
 * a closed terminal (SIGHUP) stops it cleanly, `ps` names it, its log stays
 * small. Real processes; the terminal is a real pty made by script(1).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { once } from 'node:events';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LogFile } from '../../src/cli/log-file.js';
import { BAZIL, bazil, tempDir } from '../helpers.js';
import { fuseUnavailable } from '../fuse/mount-helpers.js';

type T = Parameters<typeof tempDir>[0];

const mounted = (dir: string) => readFileSync('/proc/self/mounts', 'utf8').split('\n').some((l) => l.split(' ')[1] === dir);

async function until(what: string, check: () => boolean | Promise<boolean>): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.fail(`gave up waiting: ${what}`);
}

function gone(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return /^\d+ \(.*\) Z/s.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return true;
  }
}

/**
 * A data dir with volume v, and an empty mount point beside it. Whatever the
 * test did, a server it started in the background is killed when it ends.
 */
async function setUp(t: T): Promise<{ dir: string; mnt: string; cli: (...args: string[]) => Promise<string>; serverPid: () => number }> {
  const started = new Set<number>();
  const serverPid = () => {
    const pid = Number(readFileSync(join(dir, 'lock.pid'), 'utf8'));
    started.add(pid);
    return pid;
  };
  let mnt = '';
  // Registered first, so it runs before the temp dir goes.
  t.after(async () => {
    for (const pid of started) if (!gone(pid)) process.kill(pid, 'SIGKILL');
    await until('the servers are gone', () => [...started].every(gone));
    if (mounted(mnt)) spawnSync('fusermount', ['-uz', mnt]);
  });
  const base = tempDir(t, 'bzd-');
  const dir = join(base, 'data');
  mnt = join(base, 'mnt');
  mkdirSync(mnt);
  const cli = async (...args: string[]) => {
    const r = await bazil([`-data-dir=${dir}`, ...args]);
    assert.equal(r.code, 0, `bazil ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  await cli('create');
  await cli('volume', 'create', 'v');
  return { dir, mnt, cli, serverPid };
}

describe('the server as a daemon', { concurrency: true }, () => {
  test('server start returns once it listens, logs to DATADIR/server.log, and ps names it with its data dir', async (t) => {
    const { dir, cli, serverPid } = await setUp(t);
    const out = await cli('server', 'start', '-addr=127.0.0.1:0');
    const m = /^Started the bazil server \(pid (\d+)\), listening on (127\.0\.0\.1:\d+); its log is (.*)\.\n$/.exec(out);
    assert.ok(m, out);
    const pid = serverPid();
    assert.equal(Number(m[1]), pid);
    assert.equal(m[3], join(dir, 'server.log'));
    // It answers at once, and it is detached: its own session, not the caller's.
    assert.match(await cli('server', 'ping'), new RegExp(`pid ${pid}\\), listening on ${m[2].replace(/\./g, '\\.')}`));
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '').split(' ');
    assert.equal(Number(stat[3]), pid, 'the server leads its own session');
    assert.match(readFileSync(join(dir, 'server.log'), 'utf8'), /Z bazil: Listening on 127\.0\.0\.1:\d+\n/);
    assert.equal(statSync(join(dir, 'server.log')).mode & 0o777, 0o600);
    // What ps shows: the command line and the short name.
    const ps = spawnSync('ps', ['-o', 'comm=,args=', '-p', String(pid)], { encoding: 'utf8' }).stdout;
    assert.match(ps, new RegExp(`^bazil server .*bazil server ${dir}`), ps);

    // A log past its cap is moved aside when the server starts: start still sees it listen.
    await cli('server', 'stop');
    writeFileSync(join(dir, 'server.log'), 'x'.repeat(2 << 20));
    const restarted = await cli('server', 'start', '-addr=127.0.0.1:0');
    assert.match(restarted, /^Started the bazil server/);
    const pid2 = serverPid();
    assert.equal(statSync(join(dir, 'server.log.1')).size, 2 << 20);
    assert.match(readFileSync(join(dir, 'server.log'), 'utf8'), /^\S+Z bazil: Listening on /);

    const again = await cli('server', 'start');
    assert.match(again, new RegExp(`^The bazil server is already running \\(pid ${pid2}\\), listening on 127\\.0\\.0\\.1:\\d+\\.\n$`));
    assert.notEqual(pid2, pid);
    assert.equal(await cli('server', 'stop'), 'Stopped the bazil server.\n');
    assert.match(readFileSync(join(dir, 'server.log'), 'utf8'), /bazil: stopped\n$/);
  });

  test('server start that cannot start says why, with the exit code of server run', async (t) => {
    const { dir } = await setUp(t);
    const busy = createServer().listen({ host: '127.0.0.1', port: 0 });
    await once(busy, 'listening');
    t.after(() => busy.close());
    const port = (busy.address() as { port: number }).port;
    const r = await bazil([`-data-dir=${dir}`, 'server', 'start', `-addr=127.0.0.1:${port}`]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, new RegExp(`^bazil: the bazil server did not start: cannot listen for peers on 127\\.0\\.0\\.1:${port}: it is already in use`));
    assert.match(r.stderr, new RegExp(`\\(its log: ${join(dir, 'server.log')}\\)\n$`));
    const none = await bazil([`-data-dir=${join(dir, 'nope')}`, 'server', 'start']);
    assert.equal(none.code, 3);
    assert.match(none.stderr, /no bazil data dir at .*nope; create one with/);
  });

  test('closing the terminal of `bazil server run` stops it cleanly: it unmounts and exits', { skip: fuseUnavailable() }, async (t) => {
    const { dir, mnt, cli, serverPid } = await setUp(t);
    // script(1) gives the server a real terminal; killing script closes it, and the kernel sends SIGHUP.
    const term = spawn('script', ['-qfec', `exec ${process.execPath} ${BAZIL} -data-dir=${dir} server run -addr=127.0.0.1:0`, '/dev/null'], {
      stdio: ['pipe', 'pipe', 'pipe'],
      detached: true,
    });
    t.after(() => void (term.exitCode === null && term.kill('SIGKILL')));
    let out = '';
    term.stdout!.on('data', (b: Buffer) => (out += b.toString()));
    await until('the server listens', () => out.includes('Listening on'));
    await cli('volume', 'mount', 'v', mnt);
    const pid = serverPid();
    term.kill('SIGKILL');
    await until('the server exits', () => gone(pid));
    assert.ok(!mounted(mnt), 'the mount is gone, not left dead');
    const ping = await bazil([`-data-dir=${dir}`, 'server', 'ping']);
    assert.equal(ping.code, 3);
    // The mount is remembered: the next server mounts it again.
    await cli('server', 'start', '-addr=127.0.0.1:0');
    serverPid();
    assert.match(await cli('volume', 'list'), new RegExp(`^v\tsharing=default\tmounted=${mnt}$`, 'm'));
    await cli('server', 'stop');
  });

  test('SIGHUP stops the server like SIGTERM: exit 0, socket removed', async (t) => {
    const { dir, cli, serverPid } = await setUp(t);
    await cli('server', 'start', '-addr=127.0.0.1:0');
    const pid = serverPid();
    process.kill(pid, 'SIGHUP');
    await until('the server exits', () => gone(pid));
    assert.ok(!existsSync(join(dir, 'control.sock')));
    assert.match(readFileSync(join(dir, 'server.log'), 'utf8'), /bazil: SIGHUP: stopping\n.*bazil: stopped\n$/s);
  });

  test('the systemd user unit in contrib/ is valid and runs `bazil server run`', { skip: spawnSync('systemd-analyze', ['--version']).error && 'no systemd-analyze here' }, (t) => {
    const unit = readFileSync(new URL('../../../contrib/systemd/bazil.service', import.meta.url), 'utf8');
    assert.match(unit, /^ExecStart=\/usr\/bin\/env bazil server run$/m);
    // As the README installs it: with the full paths of node and bazil.
    const path = join(tempDir(t), 'bazil.service');
    writeFileSync(path, unit.replace('/usr/bin/env bazil', `${process.execPath} ${BAZIL}`));
    const verify = spawnSync('systemd-analyze', ['verify', path], { encoding: 'utf8' });
    assert.equal(verify.status, 0, verify.stderr);
  });

  test('the log file keeps at most its cap, plus one older file', (t) => {
    const path = join(tempDir(t), 'server.log');
    const log = new LogFile(path, 1000);
    for (let i = 0; i < 100; i++) log.write(`bazil: line ${i}`);
    assert.ok(statSync(path).size <= 1100);
    assert.ok(statSync(`${path}.1`).size <= 1100);
    assert.match(readFileSync(path, 'utf8'), /Z bazil: line 99\n$/);
  });
});
