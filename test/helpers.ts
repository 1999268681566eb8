/** Shared test helpers: temp dirs, deterministic data, and running the real `bazil` binary. */
import { spawn, type ChildProcess } from 'node:child_process';
import { createCipheriv, createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestContext } from 'node:test';

export const BAZIL = fileURLToPath(new URL('../../bin/bazil.js', import.meta.url));

/**
 * Servers that tests start never announce on the machine's real network (mDNS):
 * tests use loopback, or network namespaces they make (test/helpers/netns.ts),
 * where a test turns discovery on by passing BAZIL_DISCOVERY=1. Set here as
 * well as below, for the servers tests start through other commands.
 */
export const NO_DISCOVERY = { BAZIL_DISCOVERY: '0' };
process.env.BAZIL_DISCOVERY = NO_DISCOVERY.BAZIL_DISCOVERY;

/** A fresh temp directory, removed when the test ends. */
export function tempDir(t: TestContext, prefix = 'bazil-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** n deterministic pseudo-random bytes (an AES-CTR keystream): the same seed gives the same bytes. */
export function pseudoRandom(seed: string, n: number): Buffer {
  const key = createHash('sha256').update(seed).digest();
  return createCipheriv('aes-256-ctr', key, Buffer.alloc(16)).update(Buffer.alloc(n));
}

/** A seeded generator of numbers in [0, 1), for randomized tests that replay. */
export function seededRandom(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    // xorshift32
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

export function sha256hex(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Yields data in pieces of irregular sizes, as a stream would. */
export async function* inPieces(data: Buffer, sizes: number[] = [1, 4093, 65536, 1 << 20, 7]): AsyncGenerator<Buffer> {
  let off = 0;
  for (let i = 0; off < data.length; i++) {
    const n = sizes[i % sizes.length];
    yield data.subarray(off, off + n);
    off += n;
  }
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
  out: Buffer;
}

/** Runs the real CLI as a child process. */
export function bazil(args: string[], options: { input?: Buffer | string; env?: NodeJS.ProcessEnv; stdin?: 'ignore'; cwd?: string } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BAZIL, ...args], {
      env: { ...process.env, BAZIL_DATA_DIR: '', ...NO_DISCOVERY, ...options.env },
      cwd: options.cwd,
      stdio: [options.stdin === 'ignore' ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout!.on('data', (b: Buffer) => out.push(b));
    child.stderr!.on('data', (b: Buffer) => err.push(b));
    child.on('error', reject);
    child.on('close', (code) => {
      const o = Buffer.concat(out);
      resolve({ code, stdout: o.toString(), stderr: Buffer.concat(err).toString(), out: o });
    });
    if (child.stdin) {
      child.stdin.on('error', () => {}); // the CLI may stop reading early (e.g. a too-long key)
      child.stdin.end(options.input ?? '');
    }
  });
}

export interface ServerProcess {
  child: ChildProcess;
  pid: number;
  /** The address it printed: bazil: Listening on ADDRESS. */
  address: string;
  port: number;
  /** What it has written so far. */
  stdout(): string;
  stderr(): string;
  /** Settles when the process has exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * Starts `bazil server run` on a data dir as a child process and resolves once
 * it prints its Listening line. It listens on a free loopback port unless args
 * say otherwise, with LAN discovery off unless env turns it on. prefix: a command
 * it runs under (e.g. nsenter into a network namespace, see helpers/netns.ts).
 * Whatever happens, it is killed (SIGKILL) when the test ends.
 */
export function startServer(
  t: TestContext,
  dataDir: string,
  args: string[] = ['-addr=127.0.0.1:0'],
  options: { env?: NodeJS.ProcessEnv; prefix?: string[] } = {},
): Promise<ServerProcess> {
  const [command, ...before] = [...(options.prefix ?? []), process.execPath];
  const child = spawn(command, [...before, BAZIL, `-data-dir=${dataDir}`, 'server', 'run', ...args], {
    env: { ...process.env, BAZIL_DATA_DIR: '', ...NO_DISCOVERY, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (s: string) => (out += s));
  child.stderr!.setEncoding('utf8').on('data', (s: string) => (err += s));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal })),
  );
  t.after(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`bazil server run printed no Listening line within 10 s:\n${out}${err}`)), 10_000);
    const check = () => {
      const m = /^bazil: Listening on (.*:(\d+))\n/m.exec(out);
      if (!m) return;
      clearTimeout(timer);
      child.stdout!.off('data', check);
      resolve({ child, pid: child.pid!, address: m[1], port: Number(m[2]), stdout: () => out, stderr: () => err, exited });
    };
    child.stdout!.on('data', check);
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`bazil server run exited (${code ?? signal}) before listening:\n${out}${err}`));
    });
  });
}

/** Bytes of the object files in a data dir's store, as the disk has them (the cache tests and bench watch it). */
export function storeBytes(dataDir: string): number {
  let n = 0;
  const dir = join(dataDir, 'objects');
  for (const fan of readdirSync(dir)) {
    for (const f of readdirSync(join(dir, fan))) {
      try {
        n += statSync(join(dir, fan, f)).size;
      } catch {
        // evicted while we looked
      }
    }
  }
  return n;
}
