/**
 * Sync between two Bazil servers on loopback, beside rsync on the same data
 * in the same run:
 *  (a) big files (1 GiB in 256 files of 4 MiB): from the start of writing on
 *      one side until every byte has been read on the other; and the same
 *      data pinned on the reading side, until the pin's prefetch has it all
 *      (split out: the on-demand read, and the sync + prefetch);
 *  (b) small files (10,000 of 1000 bytes in 100 directories): from the start
 *      of writing until all are listed and read on the other side;
 *  (c) a sync when nothing changed, in the volume (b) left behind.
 *
 * Every target has the same shape: a separate process copies a prepared
 * source tree (in the page cache) into the first side, the transfer runs, and
 * `find … -exec cat` reads the second side. For Bazil the sides are two
 * `bazil server run --manual-sync` processes sharing a volume (set up with the
 * CLI, as a user would) and mounted, the transfer is `bazil volume sync` on
 * the reading side; (b) is also run once with two servers that sync on their
 * own. References: the plain disk (write, then read the same files), rsync
 * local to local, and rsync over ssh to a private sshd on loopback. Contents
 * are checked by SHA-256 after each run, outside the timing.
 *
 * Durability is the same everywhere: the writer fsyncs each big file on every
 * target (not the small ones); neither Bazil (a fetched object is a verified
 * cache copy that can be fetched again) nor rsync fsyncs what it receives.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connectControl } from '../src/engine/control/client.js';
import { median, printRows, timed, type Row } from './report.js';
import { dropCaches, writeRandomFile } from './store.js';
import { freePort, writeSshdConfig } from '../test/helpers/sshd.js';

const BAZIL = fileURLToPath(new URL('../../bin/bazil.js', import.meta.url));
const MB = 1e6;
const MiB = 1 << 20;
export const VOLUME = 'bench';

export interface SyncBenchOptions {
  /** Total size of (a), in MiB (files of 4 MiB). */
  mib: number;
  /** Small files of (b); directories of 100. */
  files: number;
  rounds: number;
  /** Also run (b) with servers that sync on their own. */
  auto: boolean;
}

interface Result {
  stdout: string;
  stderr: string;
}

/** Runs a bash script to completion; rejects with its output when it fails. */
export function sh(script: string, opts: { cwd?: string; env?: Record<string, string> } = {}): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-c', `set -eo pipefail\n${script}`], { cwd: opts.cwd, env: { ...process.env, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    child.on('error', reject);
    child.on('close', (code, signal) =>
      code === 0 ? resolve({ stdout, stderr }) : reject(new Error(`failed (${code ?? signal}): ${script}\n${stdout}${stderr}`)),
    );
  });
}

export const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/**
 * Copies a source tree into dst from one separate process, 1 MiB at a time
 * (as dd bs=1M would), fsyncing each file when asked.
 */
function copyTree(src: string, dst: string, fsync: boolean): Promise<Result> {
  const script = `
    const fs = require('fs'), path = require('path');
    const [src, dst, doSync] = process.argv.slice(1);
    const buf = Buffer.allocUnsafe(1 << 20);
    const walk = (s, d) => {
      for (const e of fs.readdirSync(s, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
        const sp = path.join(s, e.name), dp = path.join(d, e.name);
        if (e.isDirectory()) { fs.mkdirSync(dp); walk(sp, dp); continue; }
        const from = fs.openSync(sp, 'r'), to = fs.openSync(dp, 'w');
        for (let n; (n = fs.readSync(from, buf, 0, buf.length, null)) > 0; ) fs.writeSync(to, buf, 0, n);
        if (doSync === '1') fs.fsyncSync(to);
        fs.closeSync(to); fs.closeSync(from);
      }
    };
    fs.mkdirSync(dst);
    walk(src, dst);`;
  return sh(`${q(process.execPath)} -e ${q(script)} ${q(src)} ${q(dst)} ${fsync ? 1 : 0}`);
}

/** Lists and reads every file under dir, in one process. */
export async function readTree(dir: string): Promise<void> {
  await sh(`find ${q(dir)} -type f -exec cat {} + >/dev/null`);
}

async function countFiles(dir: string): Promise<number> {
  return Number((await sh(`find ${q(dir)} -type f | wc -l`)).stdout.trim());
}

/** One digest of every file's path and bytes under dir. */
export async function digest(dir: string): Promise<string> {
  return (await sh(`cd ${q(dir)} && find . -type f -print0 | sort -z | xargs -0r sha256sum | sha256sum`)).stdout.trim();
}

/** Waits until every pin of the host's data dir is complete (a pin that waits on a source fails the bench). */
async function untilPinned(h: Host): Promise<void> {
  const control = await connectControl(h.dataDir);
  if (!control) throw new Error(`no control socket for ${h.name}`);
  try {
    for (;;) {
      const pins = await control.call('pin.list', {});
      const waiting = pins.find((p) => p.state === 'waiting');
      if (waiting) throw new Error(`the pin of ${waiting.path} waits: ${waiting.error ?? 'no source'}`);
      if (pins.every((p) => p.state === 'complete')) return;
      await new Promise((r) => setTimeout(r, 20));
    }
  } finally {
    control.close();
  }
}

/** Empties the page cache, then reads the source tree back into it: every target starts from the same state. */
async function freshCaches(src: string): Promise<void> {
  dropCaches();
  await sh(`find ${q(src)} -type f -exec cat {} + >/dev/null && sync`);
}

/** Clock ticks per second of /proc's CPU times (USER_HZ: 100 on Linux). */
const TICK = 100;

/** CPU seconds the whole machine spent busy, and available, since boot (all cores). */
function machineCpu(): { busy: number; all: number } {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1, 9).map(Number);
  const all = f.reduce((x, y) => x + y, 0);
  return { busy: (all - f[3] - f[4]) / TICK, all: all / TICK }; // idle and iowait are not busy
}

/** CPU seconds a process has used (user + system), with its children that have ended when asked. */
function processCpu(pid: number | 'self' | undefined, children = false): number {
  if (pid === undefined) return 0;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ').map(Number);
    return (f[11] + f[12] + (children ? f[13] + f[14] : 0)) / TICK;
  } catch {
    return 0;
  }
}

/** This bench's long-running children (servers, sshd): their CPU is not in our children's totals until they end. */
const longRunning = new Set<number>();

/**
 * CPU seconds used by this bench so far: this process, every child that ended
 * (the writers, readers, rsync, ssh, the CLI…, through the shells that ran
 * them), and the servers and sshd still running. What the machine spent beyond
 * this was someone else's, or the kernel's own threads (writeback).
 */
function benchCpu(): number {
  let sum = processCpu('self', true);
  for (const pid of longRunning) sum += processCpu(pid, true);
  return sum;
}

function isMounted(dir: string): boolean {
  return readFileSync('/proc/mounts', 'utf8')
    .split('\n')
    .some((line) => line.split(' ')[1] === dir);
}

/** Things to undo, last first, whether the bench finished or failed. */
export class Cleanup {
  private readonly steps: { what: string; fn: () => Promise<unknown> | unknown }[] = [];
  private done = false;
  add(what: string, fn: () => Promise<unknown> | unknown): void {
    this.steps.push({ what, fn });
    if (this.done) void this.run(); // something started after an interruption: undo it at once
  }
  async run(): Promise<void> {
    this.done = true;
    while (this.steps.length) {
      const { what, fn } = this.steps.pop()!;
      try {
        await fn();
      } catch (err) {
        console.error(`sync bench: could not ${what}: ${(err as Error).message}`);
      }
    }
  }
}

/** A data dir with its `bazil server run` process and its mount. */
export class Host {
  readonly dataDir: string;
  readonly mnt: string;
  key = '';
  port = 0;
  private child?: ChildProcess;
  private log = '';

  constructor(
    readonly name: string,
    readonly root: string,
    private readonly bin: string,
    private readonly cleanup: Cleanup,
  ) {
    mkdirSync(root, { recursive: true });
    this.dataDir = join(root, 'data');
    this.mnt = join(root, 'mnt');
  }

  /** Runs a script with `bazil` on the PATH and this data dir as the default. */
  bz(script: string): Promise<Result> {
    return sh(script, { cwd: this.root, env: { PATH: `${this.bin}:${process.env.PATH}`, BAZIL_DATA_DIR: this.dataDir } });
  }

  async create(): Promise<void> {
    await this.bz('bazil create');
    this.key = (await this.bz('bazil debug pubkey')).stdout.trim();
  }

  async start(manualSync: boolean): Promise<void> {
    const args = [BAZIL, `-data-dir=${this.dataDir}`, 'server', 'run', '-addr=127.0.0.1:0', ...(manualSync ? ['--manual-sync'] : [])];
    const child = spawn(process.execPath, args, { env: { ...process.env, BAZIL_DATA_DIR: '' }, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    if (child.pid) longRunning.add(child.pid);
    const exited = new Promise<void>((resolve) => child.on('close', () => resolve()));
    this.cleanup.add(`stop the server of ${this.name}`, () => this.stop(exited));
    child.stderr!.setEncoding('utf8').on('data', (s: string) => (this.log = (this.log + s).slice(-8000)));
    let out = '';
    this.port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the server of ${this.name} printed no Listening line within 20 s: ${this.log}`)), 20_000);
      child.stdout!.setEncoding('utf8').on('data', (s: string) => {
        out += s;
        const m = /^bazil: Listening on .*:(\d+)\n/m.exec(out);
        if (m) {
          clearTimeout(timer);
          resolve(Number(m[1]));
        }
      });
      void exited.then(() => {
        clearTimeout(timer);
        reject(new Error(`the server of ${this.name} exited before listening: ${this.log}`));
      });
    });
  }

  async mount(): Promise<void> {
    mkdirSync(this.mnt);
    this.cleanup.add(`unmount ${this.mnt}`, async () => {
      if (isMounted(this.mnt)) await this.bz(`bazil volume unmount ${q(this.mnt)}`).catch(() => sh(`fusermount -uz ${q(this.mnt)}`));
    });
    await this.bz(`bazil volume mount ${VOLUME} mnt`);
  }

  private async stop(exited: Promise<void>): Promise<void> {
    const child = this.child!;
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
      await exited;
      clearTimeout(timer);
    }
    longRunning.delete(child.pid!);
    if (isMounted(this.mnt)) await sh(`fusermount -uz ${q(this.mnt)}`);
  }

  /** CPU seconds the server has used so far. */
  cpu(): number {
    return processCpu(this.child?.pid);
  }

  /** The server's last log lines, for an error message. */
  tail(): string {
    return this.log.split('\n').slice(-15).join('\n');
  }
}

/** Two servers sharing the volume, both ways, as test/sync/hosts.ts shareVolume sets it up; both mounted. */
export async function sharedPair(root: string, bin: string, cleanup: Cleanup, manualSync: boolean): Promise<[Host, Host]> {
  const a = new Host('A', join(root, 'a'), bin, cleanup);
  const b = new Host('B', join(root, 'b'), bin, cleanup);
  for (const h of [a, b]) await h.create();
  for (const h of [a, b]) await h.start(manualSync);
  await a.bz(`dd if=/dev/urandom of=sekrit bs=32 count=1 2>/dev/null && bazil sharing add friends <sekrit && bazil volume create -sharing=friends ${VOLUME}`);
  await b.bz(`cp ${q(join(a.root, 'sekrit'))} . && bazil sharing add friends <sekrit`);
  for (const [x, y] of [[a, b], [b, a]]) {
    await x.bz(`bazil peer add ${y.key} && bazil peer location set ${y.key} 127.0.0.1:${y.port} && bazil peer storage allow ${y.key} local`);
  }
  await a.bz(`bazil peer volume allow ${b.key} ${VOLUME}`);
  await b.bz(`bazil volume connect -sharing=friends ${a.key} ${VOLUME}`);
  await b.bz(`bazil volume storage add -sharing=friends ${VOLUME} peerkey:${a.key}`);
  await b.bz(`bazil peer volume allow ${a.key} ${VOLUME}`);
  await a.bz(`bazil volume storage add -sharing=friends ${VOLUME} peerkey:${b.key}`);
  for (const h of [a, b]) await h.mount();
  return [a, b];
}

/** A private sshd on loopback that takes a temp key for the current user, for rsync over ssh. */
export interface Ssh {
  /** rsync's -e. */
  rsh: string;
  user: string;
  port: number;
  /** Holds client_key (authorized), host_key and sshd_config. */
  dir: string;
}

export async function startSshd(dir: string, cleanup: Cleanup): Promise<Ssh | string> {
  const sshd = '/usr/sbin/sshd';
  if (!existsSync(sshd)) return 'no /usr/sbin/sshd (apt-get install openssh-server)';
  for (const tool of ['ssh', 'ssh-keygen', 'rsync']) {
    try {
      await sh(`command -v ${tool}`);
    } catch {
      return `no ${tool} on the PATH`;
    }
  }
  const user = (await sh('id -un')).stdout.trim();
  if (process.getuid?.() !== 0) return `not root (an sshd that logs in as ${user} needs root here)`;
  mkdirSync(dir);
  await sh(`ssh-keygen -q -t ed25519 -N '' -f host_key && ssh-keygen -q -t ed25519 -N '' -f client_key && cp client_key.pub authorized_keys`, { cwd: dir });
  chmodSync(join(dir, 'client_key'), 0o600);
  if (!existsSync('/run/sshd')) {
    // sshd's privilege separation directory; made for this run only.
    mkdirSync('/run/sshd', { mode: 0o755 });
    cleanup.add('remove /run/sshd', () => rmdirSync('/run/sshd'));
  }
  const port = await freePort();
  const config = writeSshdConfig(dir, port);
  const child = spawn(sshd, ['-f', config, '-D', '-e'], { stdio: ['ignore', 'ignore', 'pipe'] });
  if (child.pid) longRunning.add(child.pid);
  const exited = new Promise<void>((resolve) => child.on('close', () => resolve()));
  cleanup.add('stop the private sshd', async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
    longRunning.delete(child.pid!);
  });
  let log = '';
  const ready = await new Promise<string | true>((resolve) => {
    const timer = setTimeout(() => resolve(`sshd did not start listening within 10 s: ${log}`), 10_000);
    child.stderr!.setEncoding('utf8').on('data', (s: string) => {
      log += s;
      if (/Server listening on 127\.0\.0\.1 port/.test(log)) {
        clearTimeout(timer);
        resolve(true);
      }
    });
    child.on('error', (err) => resolve(`sshd could not run: ${err.message}`));
    void exited.then(() => resolve(`sshd exited: ${log.trim()}`));
  });
  if (ready !== true) return ready;
  const rsh = `ssh -F /dev/null -p ${port} -i ${join(dir, 'client_key')} -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR`;
  try {
    await sh(`${rsh} ${user}@127.0.0.1 true`);
  } catch (err) {
    return `ssh to the private sshd failed: ${(err as Error).message.trim()}`;
  }
  return { rsh, user, port, dir };
}

/** Phases of one end-to-end run, in seconds. */
interface Run {
  write: number;
  transfer: number;
  read: number;
  total: number;
  /** CPU seconds during the run: the whole machine (all cores), this bench's processes, and each Bazil server. */
  cpu: { machine: number; available: number; bench: number; servers?: [number, number] };
}

type Target = 'plain' | 'rsync-local' | 'rsync-ssh' | 'bazil' | 'bazil-pinned' | 'bazil-auto';

/** Per directory of a source tree, the file copyTree writes last there (it goes in name order), as a relative path. */
function lastWritten(src: string, rel = ''): string[] {
  const entries = readdirSync(join(src, rel), { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1));
  const files = entries.filter((e) => e.isFile());
  const here = files.length ? [join(rel, files[files.length - 1].name)] : [];
  return [...here, ...entries.filter((e) => e.isDirectory()).flatMap((e) => lastWritten(src, join(rel, e.name)))];
}

/** A tree of random files: `count` of `size` bytes, in directories of `perDir` (none when perDir is 0). */
function makeSource(dir: string, count: number, size: number, perDir: number): void {
  mkdirSync(dir);
  for (let i = 0; i < count; i++) {
    const sub = perDir ? join(dir, `d${Math.floor(i / perDir)}`) : dir;
    if (perDir && i % perDir === 0) mkdirSync(sub);
    const file = join(sub, `f${i}`);
    if (size >= MiB) writeRandomFile(file, size);
    else writeFileSync(file, randomBytes(size));
  }
}

export async function benchSync(base: string, opts: SyncBenchOptions): Promise<void> {
  const root = mkdtempSync(join(base, 'sync-'));
  const cleanup = new Cleanup();
  cleanup.add(`remove ${root}`, () => {
    // Never recurse into a mount that is still there.
    const left = readFileSync('/proc/mounts', 'utf8').split('\n').map((l) => l.split(' ')[1]).filter((m) => m?.startsWith(root));
    if (left.length) throw new Error(`still mounted, left in place: ${left.join(', ')}`);
    rmSync(root, { recursive: true, force: true });
  });
  // Interrupted: stop waiting for the run, clean up here, and let the caller's own cleanup run too.
  let onSignal!: (signal: NodeJS.Signals) => void;
  const interrupted = new Promise<never>((_, reject) => {
    onSignal = (signal) => reject(new Error(`sync bench: interrupted by ${signal}`));
  });
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const running = measure(root, opts, cleanup);
    running.catch(() => {}); // after an interruption its failure is no news
    await Promise.race([running, interrupted]);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await cleanup.run();
  }
}

async function measure(root: string, opts: SyncBenchOptions, cleanup: Cleanup): Promise<void> {
  const loadAtStart = loadavg()[0];
  const bigCount = Math.max(1, Math.round(opts.mib / 4));
  const bigBytes = bigCount * 4 * MiB;
  const smallSize = 1000;
  const dirs = Math.ceil(opts.files / 100);

  const bin = join(root, 'bin');
  mkdirSync(bin);
  writeFileSync(join(bin, 'bazil'), `#!/bin/sh\nexec ${q(process.execPath)} ${q(BAZIL)} "$@"\n`);
  chmodSync(join(bin, 'bazil'), 0o755);

  const srcBig = join(root, 'src-big');
  const srcSmall = join(root, 'src-small');
  makeSource(srcBig, bigCount, 4 * MiB, 0);
  makeSource(srcSmall, opts.files, smallSize, 100);
  const want = { big: await digest(srcBig), small: await digest(srcSmall) };

  const ssh = await startSshd(join(root, 'ssh'), cleanup);
  const skipSsh = typeof ssh === 'string' ? ssh : undefined;
  if (skipSsh) console.log(`\nsync bench: rsync over ssh is skipped: ${skipSsh}`);

  // Where each target's first side is written and its second side read.
  const refDirs = { plain: join(root, 'plain'), local: join(root, 'rsync-local'), ssh: join(root, 'rsync-ssh') };
  for (const d of Object.values(refDirs)) mkdirSync(d);
  for (const d of [refDirs.local, refDirs.ssh]) for (const side of ['src', 'dst']) mkdirSync(join(d, side));

  const [a, b] = await sharedPair(join(root, 'manual'), bin, cleanup, true);
  let auto: [Host, Host] | undefined;
  if (opts.auto) auto = await sharedPair(join(root, 'auto'), bin, cleanup, false);

  const runs: Record<'big' | 'small', Partial<Record<Target, Run[]>>> = { big: {}, small: {} };
  const canDrop = dropCaches();

  /** Write → transfer → read, timed as a whole and by phase, then the bytes checked. */
  const endToEnd = async (
    kind: 'big' | 'small',
    target: Target,
    paths: { write: string; read: string },
    transfer: () => Promise<unknown>,
    servers?: [Host, Host],
  ): Promise<void> => {
    const src = kind === 'big' ? srcBig : srcSmall;
    const count = kind === 'big' ? bigCount : opts.files;
    await freshCaches(src);
    const m0 = machineCpu();
    const b0 = benchCpu();
    const s0 = servers?.map((h) => h.cpu());
    const t0 = process.hrtime.bigint();
    const at = () => Number(process.hrtime.bigint() - t0) / 1e9;
    await copyTree(src, paths.write, kind === 'big');
    const t1 = at();
    await transfer();
    const t2 = at();
    await readTree(paths.read);
    const t3 = at();
    const m1 = machineCpu();
    const cpu: Run['cpu'] = { machine: m1.busy - m0.busy, available: m1.all - m0.all, bench: benchCpu() - b0 };
    if (servers && s0) cpu.servers = [servers[0].cpu() - s0[0], servers[1].cpu() - s0[1]];
    const seen = await countFiles(paths.read);
    if (seen !== count) throw new Error(`${target}: ${seen} files read on the other side, not ${count}`);
    const got = await digest(paths.read);
    if (got !== want[kind]) throw new Error(`${target}: the files read on the other side differ from those written`);
    ((runs[kind][target] ??= []) as Run[]).push({ write: t1, transfer: t2 - t1, read: t3 - t2, total: t3, cpu });
  };

  const rsyncSsh = (from: string, to: string) => sh(`rsync -a -e ${q((ssh as Ssh).rsh)} ${q(from)}/ ${(ssh as Ssh).user}@127.0.0.1:${q(to)}/`);
  const bzSync = () => b.bz(`bazil volume sync ${VOLUME} ${a.key}`);

  for (let round = 0; round < opts.rounds; round++) {
    for (const kind of ['big', 'small'] as const) {
      const name = `${kind}-r${round}`;
      await endToEnd(kind, 'plain', { write: join(refDirs.plain, name), read: join(refDirs.plain, name) }, async () => {});
      await endToEnd(kind, 'rsync-local', { write: join(refDirs.local, 'src', name), read: join(refDirs.local, 'dst', name) }, () =>
        sh(`rsync -a ${q(join(refDirs.local, 'src', name))}/ ${q(join(refDirs.local, 'dst', name))}/`),
      );
      if (!skipSsh) {
        await endToEnd(kind, 'rsync-ssh', { write: join(refDirs.ssh, 'src', name), read: join(refDirs.ssh, 'dst', name) }, () =>
          rsyncSsh(join(refDirs.ssh, 'src', name), join(refDirs.ssh, 'dst', name)),
        );
      }
      try {
        await endToEnd(kind, 'bazil', { write: join(a.mnt, name), read: join(b.mnt, name) }, bzSync, [a, b]);
      } catch (err) {
        throw new Error(`${(err as Error).message}\n--- server A:\n${a.tail()}\n--- server B:\n${b.tail()}`);
      }
      if (kind === 'big') {
        // The same data pinned on the reading side: the transfer is the sync and the pin's prefetch, until all of it is local.
        const pinned = `${name}-pinned`;
        await endToEnd(kind, 'bazil-pinned', { write: join(a.mnt, pinned), read: join(b.mnt, pinned) }, async () => {
          await bzSync();
          await b.bz(`bazil pin ${q(join(b.mnt, pinned))}`);
          await untilPinned(b);
        }, [a, b]);
        await b.bz(`bazil unpin ${q(join(b.mnt, pinned))}`);
      }
      if (kind === 'small' && auto && round === 0) {
        const [c, d] = auto;
        // The servers sync on their own: wait until the file written last in each directory is there on
        // the other side. A directory comes over in one transaction, as the writer's side listed it, so
        // then everything written before it is there too (the read phase lists them all, and the count
        // is checked after). Polling this costs a few lookups per directory, where a `find` of the whole
        // tree would cost seconds and slow the sync it waits for.
        const lastOfEach = lastWritten(srcSmall).map((f) => q(join(d.mnt, name, f)));
        const check = `for f in ${lastOfEach.join(' ')}; do [ -e "$f" ] || exit 1; done`;
        await endToEnd(kind, 'bazil-auto', { write: join(c.mnt, name), read: join(d.mnt, name) }, async () => {
          const deadline = Date.now() + 600_000;
          while (!(await sh(check).then(() => true, () => false))) {
            if (Date.now() > deadline) throw new Error(`automatic sync: not all there after 10 minutes\n${c.tail()}\n${d.tail()}`);
            await new Promise((r) => setTimeout(r, 50));
          }
        }, auto);
      }
    }
  }

  // (c) Nothing changed: B is in sync with A for every file (b) wrote, and so are the rsync copies.
  const synced = (await bzSync()).stdout;
  if (!/up to date/.test(synced)) throw new Error(`the volume was expected up to date before (c): ${synced}`);
  const control = await connectControl(b.dataDir);
  if (!control) throw new Error('no control socket for B');
  const viaSocket: number[] = [];
  try {
    for (let i = 0; i < 25; i++) {
      const secs = await timed(async () => {
        const s = await control.call('volume.sync', { volume: VOLUME, peer: a.key });
        if (s.copied || s.deleted) throw new Error(`a no-change sync changed something: ${JSON.stringify(s)}`);
      });
      if (i >= 5) viaSocket.push(secs); // the first few warm up the connection and the caches
    }
  } finally {
    control.close();
  }
  const viaCli: number[] = [];
  for (let i = 0; i < 10; i++) viaCli.push(await timed(bzSync));
  const noChange = async (cmd: () => Promise<unknown>) => {
    const xs: number[] = [];
    await cmd();
    for (let i = 0; i < 5; i++) xs.push(await timed(cmd));
    return median(xs);
  };
  const refLocal = await noChange(() => sh(`rsync -a ${q(join(refDirs.local, 'src'))}/ ${q(join(refDirs.local, 'dst'))}/`));
  const refSsh = skipSsh ? undefined : await noChange(() => rsyncSsh(join(refDirs.ssh, 'src'), join(refDirs.ssh, 'dst')));
  const volumeFiles = await countFiles(b.mnt);

  report({ loadAtStart, runs, bigBytes, bigCount, files: opts.files, dirs, rounds: opts.rounds, canDrop, skipSsh, noChange: { socket: median(viaSocket), cli: median(viaCli), refLocal, refSsh, volumeFiles } });
}

function report(r: {
  runs: Record<'big' | 'small', Partial<Record<Target, Run[]>>>;
  bigBytes: number;
  bigCount: number;
  files: number;
  dirs: number;
  rounds: number;
  canDrop: boolean;
  loadAtStart: number;
  skipSsh?: string;
  noChange: { socket: number; cli: number; refLocal: number; refSsh?: number; volumeFiles: number };
}): void {
  const med = (kind: 'big' | 'small', t: Target, phase: Exclude<keyof Run, 'cpu'>) => {
    const xs = r.runs[kind][t];
    return xs?.length ? median(xs.map((x) => x[phase])) : undefined;
  };
  const label: Record<Target, string> = {
    plain: 'plain disk',
    'rsync-local': 'rsync local',
    'rsync-ssh': 'rsync over ssh',
    bazil: 'bazil',
    'bazil-pinned': 'bazil, pinned',
    'bazil-auto': 'bazil, automatic sync',
  };
  const refs: Target[] = ['rsync-ssh', 'rsync-local', 'plain'];
  const skipped = (t: Target) => (t === 'rsync-ssh' && r.skipSsh ? `  (${label[t]}: skipped, ${r.skipSsh})` : '');
  const note = `median of ${r.rounds}${r.canDrop ? '' : '; page cache NOT dropped: not root'}`;
  const cores = cpus().length;
  console.log(
    `\nSync bench: load average (1 min) ${r.loadAtStart.toFixed(2)} when it started${r.loadAtStart > 0.7 ? ' (the machine was not idle)' : ''}; ` +
      'the CPU lines under each part say what else ran during each run',
  );

  // (a) end to end, MB/s, then its phases in seconds.
  const rate = (kind: 'big' | 'small', t: Target, per: number) => {
    const total = med(kind, t, 'total');
    return total === undefined ? undefined : per / total;
  };
  const rowsAgainst = (name: string, value: number, unit: string, kind: 'big' | 'small', per: number, target: (ref: Target) => Row['target']): Row[] =>
    refs.flatMap((ref) => {
      const v = rate(kind, ref, per);
      return v === undefined ? [] : [{ name, value, unit, reference: { name: label[ref], value: v }, target: target(ref) }];
    });
  const gib = r.bigBytes / 2 ** 30;
  const sizeA = gib >= 1 ? `${gib.toFixed(gib % 1 ? 2 : 0)} GiB` : `${(r.bigBytes / MiB).toFixed(0)} MiB`;
  const bigRate = rate('big', 'bazil', r.bigBytes / MB)!;
  const sshBig = rate('big', 'rsync-ssh', r.bigBytes / MB);
  printRows(`Sync (a): ${sizeA} in ${r.bigCount} files of 4 MiB, from writing on one side to all read on the other (${note})${skipped('rsync-ssh')}`, [
    ...rowsAgainst('bazil end to end', bigRate, 'MB/s', 'big', r.bigBytes / MB, (ref) => (ref === 'rsync-ssh' && sshBig ? { value: Number(sshBig.toFixed(1)), higher: true } : undefined)),
  ]);
  phases('big');
  // (a) split: reading on demand (each chunk fetched as the reader gets to it) and a pin's prefetch (all in the background).
  const onDemand = med('big', 'bazil', 'read');
  const prefetch = med('big', 'bazil-pinned', 'transfer');
  const sshTransfer = med('big', 'rsync-ssh', 'transfer');
  const mbps = (secs: number) => r.bigBytes / MB / secs;
  if (onDemand !== undefined && prefetch !== undefined) {
    const against = sshTransfer === undefined ? [] : [{ name: 'rsync over ssh, transfer', value: mbps(sshTransfer) }];
    printRows(`Sync (a), content only: on-demand sequential read of every file on the other side, and a pinned copy's sync + prefetch until all is local (${note})`, [
      { name: 'bazil on-demand read', value: mbps(onDemand), unit: 'MB/s', reference: against[0], target: { value: 200, higher: true } },
      { name: 'bazil pin: sync + prefetch', value: mbps(prefetch), unit: 'MB/s', reference: against[0], target: against[0] ? { value: Number(against[0].value.toFixed(1)), higher: true } : undefined },
    ]);
  }

  // (b)
  const smallRate = rate('small', 'bazil', r.files)!;
  const autoRate = rate('small', 'bazil-auto', r.files);
  printRows(`Sync (b): ${r.files} files of 1000 bytes in ${r.dirs} directories, from writing on one side to all listed and read on the other (${note})${skipped('rsync-ssh')}`, [
    ...rowsAgainst('bazil, volume sync', smallRate, 'files/s', 'small', r.files, (ref) => (ref === 'rsync-ssh' ? { value: 1000, higher: true } : undefined)),
    ...(autoRate === undefined
      ? []
      : rowsAgainst('bazil, automatic sync (1 run)', autoRate, 'files/s', 'small', r.files, (ref) => (ref === 'rsync-ssh' ? { value: 1000, higher: true } : undefined))),
  ]);
  phases('small');

  // (c)
  const nc = r.noChange;
  const ms = (s: number) => s * 1000;
  const ncRefs = [...(nc.refSsh === undefined ? [] : [{ name: 'rsync over ssh, no change', value: ms(nc.refSsh) }]), { name: 'rsync local, no change', value: ms(nc.refLocal) }];
  printRows(`Sync (c): a sync when nothing changed, volume of ${nc.volumeFiles} files (median of 20 over the control socket, 10 of the CLI, 5 of each rsync)${skipped('rsync-ssh')}`, [
    ...ncRefs.map((ref, i) => ({ name: 'volume.sync over the control socket', value: ms(nc.socket), unit: 'ms', reference: ref, target: i === 0 ? { value: 100, higher: false } : undefined })),
    ...ncRefs.map((ref, i) => ({ name: '`bazil volume sync` (node start included)', value: ms(nc.cli), unit: 'ms', reference: ref, target: i === 0 ? { value: 100, higher: false } : undefined })),
  ]);

  function phases(kind: 'big' | 'small'): void {
    const rows: Row[] = [];
    const ours: Target[] = kind === 'small' && r.runs.small['bazil-auto'] ? ['bazil', 'bazil-auto'] : ['bazil'];
    const what: Record<'write' | 'transfer' | 'read', string> = { write: 'write on one side', transfer: 'transfer (sync / rsync)', read: 'list + read on the other' };
    // Beside rsync over ssh (the target's reference) when it ran, else rsync local; the write also beside the plain disk.
    const ref: Target = r.runs[kind]['rsync-ssh'] ? 'rsync-ssh' : 'rsync-local';
    for (const t of ours) {
      for (const phase of ['write', 'transfer', 'read'] as const) {
        const refV = med(kind, ref, phase);
        if (refV !== undefined) rows.push({ name: `${label[t]}: ${what[phase]}`, value: med(kind, t, phase)!, unit: 's', reference: { name: label[ref], value: refV } });
      }
    }
    printRows(`  phases of (${kind === 'big' ? 'a' : 'b'}), seconds (lower is better; a ratio above 1 is slower)`, rows);
    // Where the CPU went in the median run: a machine busy for much more than this bench had company.
    console.log(`  CPU seconds used during the run of median length (${cores} cores, so ${cores} CPU s per second of the run):`);
    for (const [t, xs] of Object.entries(r.runs[kind]) as [Target, Run[]][]) {
      const { cpu, total } = [...xs].sort((x, y) => x.total - y.total)[(xs.length - 1) >> 1];
      const servers = cpu.servers ? `; bazil servers: ${cpu.servers[0].toFixed(1)} s on the writing side, ${cpu.servers[1].toFixed(1)} s on the reading side` : '';
      const others = Math.max(0, cpu.machine - cpu.bench);
      console.log(
        `    ${label[t].padEnd(22)} ${total.toFixed(1).padStart(6)} s long; machine busy ${cpu.machine.toFixed(1).padStart(5)} of ${cpu.available.toFixed(1).padStart(5)} CPU s, ` +
          `this bench ${cpu.bench.toFixed(1).padStart(5)}, the rest ${others.toFixed(1).padStart(4)} (kernel threads, other processes)${servers}`,
      );
    }
  }
}
