/**
 * A mounted volume against the plain disk, a minimal C passthrough on
 * libfuse3 (c/passthrough.c, built here with cc: the ceiling for a FUSE file
 * system on this machine) and a do-nothing file system on Bazil's own edge
 * (null-fs.ts), in the same run: sequential write of random data (dd with
 * conv=fsync, so the close that commits counts), sequential read from a fresh
 * mount with the page cache dropped, creating many small files, and a git
 * repository of 5,000 files: clone, then (warm) git status, ls -lR, find, du.
 * The volume is served by a real `bazil server run` process; the workloads are
 * separate processes (dd, node, git).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { mountNullFs } from './null-fs.js';
import { median, printRows, timed, type Row } from './report.js';
import { dropCaches, writeRandomFile } from './store.js';

const BAZIL = fileURLToPath(new URL('../../bin/bazil.js', import.meta.url));
const PASSTHROUGH_C = fileURLToPath(new URL('../../bench/c/passthrough.c', import.meta.url));
const REPO_FILES = 5000;
const MB = 1e6;

/** Runs a command to completion without blocking this process, which serves the null file system. */
function run(cmd: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (b: Buffer) => (err += b));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} ${args.join(' ')} failed (${code}): ${err}`))));
  });
}

/** Writes `count` files of `size` bytes in directories of 100, from one separate process. */
function smallFiles(dir: string, count: number, size: number): Promise<void> {
  const script = `
    const fs = require('fs'); const data = Buffer.alloc(${size}, 'x');
    for (let i = 0; i < ${count}; i++) {
      const d = ${JSON.stringify(dir)} + '/d' + Math.floor(i / 100);
      if (i % 100 === 0) fs.mkdirSync(d);
      fs.writeFileSync(d + '/f' + i, data);
    }`;
  return run(process.execPath, ['-e', script]);
}

/** Builds and mounts the C passthrough of source on dir; it serves from a process of its own. */
function mountPassthrough(base: string, source: string, dir: string): { unmount(): Promise<void> } {
  const bin = join(base, 'passthrough');
  const flags = execFileSync('pkg-config', ['--cflags', '--libs', 'fuse3'], { encoding: 'utf8' }).trim().split(/\s+/);
  execFileSync('cc', ['-O2', '-o', bin, PASSTHROUGH_C, ...flags]);
  execFileSync(bin, [source, dir, '-o', 'default_permissions']); // returns once mounted (it daemonizes)
  return { unmount: () => run('umount', [dir]) };
}

/** A git repository of REPO_FILES small source-like files in directories of 50, committed. */
async function makeRepo(dir: string): Promise<void> {
  const script = `
    const fs = require('fs');
    for (let i = 0; i < ${REPO_FILES}; i++) {
      const d = ${JSON.stringify(dir)} + '/src/m' + Math.floor(i / 500) + '/p' + Math.floor(i / 50);
      if (i % 50 === 0) fs.mkdirSync(d, { recursive: true });
      fs.writeFileSync(d + '/f' + i + '.ts', ('export const v' + i + ' = ' + i + ';\\n').repeat(1 + (i % 40)));
    }`;
  await run(process.execPath, ['-e', script]);
  await run('git', ['-C', dir, 'init', '-q']);
  await run('git', ['-C', dir, 'add', '.']);
  await run('git', ['-C', dir, '-c', 'user.name=bench', '-c', 'user.email=bench@example.invalid', 'commit', '-qm', 'files']);
}

/** Times a shell command run in cwd (its output discarded). */
function timedSh(cwd: string, script: string): Promise<number> {
  return timed(
    () =>
      new Promise<void>((resolve, reject) => {
        const child = spawn('bash', ['-c', script], { cwd, stdio: 'ignore' });
        child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`${script} failed (${code}) in ${cwd}`))));
      }),
  );
}

const TREE_WORK = { 'git status': 'git status --porcelain', 'ls -lR': 'ls -lR', 'find -type f': 'find . -type f', 'du -sh': 'du -sh' } as const;
type TreeWork = keyof typeof TREE_WORK | 'git clone';

class BazilServer {
  private constructor(
    private readonly child: ChildProcess,
    private readonly dataDir: string,
  ) {}

  static async start(dataDir: string): Promise<BazilServer> {
    await run(process.execPath, [BAZIL, `-data-dir=${dataDir}`, 'create']);
    await run(process.execPath, [BAZIL, `-data-dir=${dataDir}`, 'volume', 'create', 'bench']);
    const child = spawn(process.execPath, [BAZIL, `-data-dir=${dataDir}`, 'server', 'run', '-addr=127.0.0.1:0'], { stdio: ['ignore', 'pipe', 'ignore'] });
    await new Promise<void>((resolve, reject) => {
      child.stdout!.on('data', (b: Buffer) => b.toString().includes('Listening') && resolve());
      child.on('exit', (code) => reject(new Error(`bazil server run exited (${code})`)));
    });
    return new BazilServer(child, dataDir);
  }

  mount(dir: string): Promise<void> {
    return run(process.execPath, [BAZIL, `-data-dir=${this.dataDir}`, 'volume', 'mount', 'bench', dir]);
  }

  unmount(dir: string): Promise<void> {
    return run(process.execPath, [BAZIL, `-data-dir=${this.dataDir}`, 'volume', 'unmount', dir]);
  }

  async stop(): Promise<void> {
    const exited = new Promise((resolve) => this.child.on('exit', resolve));
    this.child.kill('SIGTERM');
    await exited;
  }
}

export async function benchFuse(base: string, bytes: number, smallCount: number, rounds: number): Promise<void> {
  const source = join(base, 'fuse-source');
  writeRandomFile(source, bytes);
  const plain = join(base, 'plain');
  const nullDir = join(base, 'null-mnt');
  const mnt = join(base, 'bazil-mnt');
  const ptSource = join(base, 'passthrough-source');
  const ptDir = join(base, 'passthrough-mnt');
  const repo = join(base, 'repo');
  for (const d of [plain, nullDir, mnt, ptSource, ptDir, repo]) mkdirSync(d);
  await makeRepo(repo);
  const server = await BazilServer.start(join(base, 'bazil-data'));
  await server.mount(mnt);
  const nullFs = await mountNullFs(nullDir);
  const passthrough = mountPassthrough(base, ptSource, ptDir);
  const canDrop = dropCaches();
  const series = () => ({ plain: [] as number[], null: [] as number[], passthrough: [] as number[], bazil: [] as number[] });
  const results = { write: series(), read: series(), small: series() };
  const tree = new Map<TreeWork, ReturnType<typeof series>>();
  try {
    for (let round = 0; round < rounds; round++) {
      const targets = { plain, null: nullDir, passthrough: ptDir, bazil: mnt } as const;
      for (const [name, dir] of Object.entries(targets) as [keyof typeof targets, string][]) {
        const file = join(dir, `big-${round}`);
        await run('dd', [`if=${source}`, 'of=/dev/null', 'bs=1M', 'status=none']); // the source is in the page cache for every target alike
        await run('sync', []);
        results.write[name].push(bytes / MB / (await timed(() => run('dd', [`if=${source}`, `of=${file}`, 'bs=1M', 'conv=fsync', 'status=none']))));
        if (name === 'bazil') {
          await server.unmount(mnt);
          await server.mount(mnt);
        }
        dropCaches();
        results.read[name].push(bytes / MB / (await timed(() => run('dd', [`if=${file}`, 'of=/dev/null', 'bs=1M', 'status=none']))));
        const small = join(dir, `small-${round}`);
        await mkdir(small); // never a sync call on a mount this process serves: it would wait on itself
        await run('sync', []);
        results.small[name].push(smallCount / (await timed(() => smallFiles(small, smallCount, 1000))));
        if (name === 'plain') await rm(join(dir, `big-${round}`));
        if (name === 'null') continue; // it keeps no files
        // The repository: clone (cold for the target), then each walk twice, timing the second (warm).
        const clone = join(dir, `repo-${round}`);
        const add = (what: TreeWork, seconds: number) => {
          if (!tree.has(what)) tree.set(what, series());
          tree.get(what)![name].push(seconds);
        };
        add('git clone', await timedSh(dir, `git clone -q --no-hardlinks ${repo} repo-${round}`));
        for (const [what, script] of Object.entries(TREE_WORK) as [keyof typeof TREE_WORK, string][]) {
          await timedSh(clone, script);
          add(what, await timedSh(clone, script));
        }
      }
    }
  } finally {
    await passthrough.unmount();
    await nullFs.unmount();
    await server.unmount(mnt);
    await server.stop();
  }
  const m = (xs: number[]) => median(xs);
  const rowsFor = (what: 'write' | 'read' | 'small', label: string, unit: string, target: number): Row[] => [
    { name: `${label}: bazil`, value: m(results[what].bazil), unit, reference: { name: 'plain disk', value: m(results[what].plain) }, target: { value: target, higher: true } },
    { name: `${label}: bazil`, value: m(results[what].bazil), unit, reference: { name: 'C passthrough', value: m(results[what].passthrough) } },
    { name: `${label}: bazil`, value: m(results[what].bazil), unit, reference: { name: 'null FUSE', value: m(results[what].null) } },
  ];
  // Times: lower is better; the targets are a multiple of the plain disk's time in this run.
  const treeRows = [...tree].flatMap(([what, r]): Row[] => [
    { name: `${what}: bazil`, value: m(r.bazil), unit: 's', reference: { name: 'plain disk', value: m(r.plain) }, target: { value: m(r.plain) * (what === 'git clone' ? 1.5 : 3), higher: false } },
    { name: `${what}: bazil`, value: m(r.bazil), unit: 's', reference: { name: 'C passthrough', value: m(r.passthrough) } },
  ]);
  const gib = (bytes / 2 ** 30).toFixed(bytes >= 2 ** 30 ? 0 : 2);
  printRows(
    `FUSE volume (${gib} GiB sequential, ${smallCount} files of 1000 bytes, a git repository of ${REPO_FILES} files; median of ${rounds}${canDrop ? '' : '; page cache NOT dropped: not root'})`,
    [...rowsFor('write', 'write', 'MB/s', 400), ...rowsFor('read', 'read (fresh mount)', 'MB/s', 600), ...rowsFor('small', 'small files', 'files/s', 3000), ...treeRows],
  );
}
