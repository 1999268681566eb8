/**
 * A mounted volume against the plain disk and a do-nothing FUSE file system
 * (null-fs.ts) in the same run: sequential write of random data (dd with
 * conv=fsync, so the close that commits counts), sequential read from a fresh
 * mount with the page cache dropped, and creating many small files. The volume
 * is served by a real `bazil server run` process; the workloads are separate
 * processes (dd, node).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { mountNullFs } from './null-fs.js';
import { median, printRows, timed, type Row } from './report.js';
import { dropCaches, writeRandomFile } from './store.js';

const BAZIL = fileURLToPath(new URL('../../bin/bazil.js', import.meta.url));
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
  for (const d of [plain, nullDir, mnt]) mkdirSync(d);
  const server = await BazilServer.start(join(base, 'bazil-data'));
  await server.mount(mnt);
  const nullFs = await mountNullFs(nullDir);
  const canDrop = dropCaches();
  const results = { write: { plain: [] as number[], null: [] as number[], bazil: [] as number[] }, read: { plain: [] as number[], null: [] as number[], bazil: [] as number[] }, small: { plain: [] as number[], null: [] as number[], bazil: [] as number[] } };
  try {
    for (let round = 0; round < rounds; round++) {
      const targets = { plain, null: nullDir, bazil: mnt } as const;
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
      }
    }
  } finally {
    await nullFs.unmount();
    await server.unmount(mnt);
    await server.stop();
  }
  const m = (xs: number[]) => median(xs);
  const rowsFor = (what: 'write' | 'read' | 'small', label: string, unit: string, target: number): Row[] => [
    { name: `${label}: bazil`, value: m(results[what].bazil), unit, reference: { name: 'plain disk', value: m(results[what].plain) }, target: { value: target, higher: true } },
    { name: `${label}: bazil`, value: m(results[what].bazil), unit, reference: { name: 'null FUSE', value: m(results[what].null) } },
  ];
  const gib = (bytes / 2 ** 30).toFixed(bytes >= 2 ** 30 ? 0 : 2);
  printRows(
    `FUSE volume (${gib} GiB sequential, ${smallCount} files of 1000 bytes; median of ${rounds}${canDrop ? '' : '; page cache NOT dropped: not root'})`,
    [...rowsFor('write', 'write', 'MB/s', 250), ...rowsFor('read', 'read (fresh mount)', 'MB/s', 600), ...rowsFor('small', 'small files', 'files/s', 2000)],
  );
}
