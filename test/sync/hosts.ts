/**
 * Hosts for sync tests: each a data dir, a real `bazil server run` process on
 * loopback and a FUSE mount, driven by shell commands spelled as a user types
 * them (`bazil` is on the PATH of every command).
 */
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { BAZIL, NO_DISCOVERY, startServer, tempDir, type ServerProcess } from '../helpers.js';

export interface Host {
  name: string;
  root: string;
  dataDir: string;
  /** The mount point: root/mnt. */
  mnt: string;
  server?: ServerProcess;
  /** Its public key, hex. */
  key: string;
  /** Runs a bash script in root, with BAZIL_DATA_DIR set and extra env. */
  sh(script: string, env?: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }>;
  /** Like sh, but fails the test unless it exits 0; returns stdout. */
  ok(script: string, env?: Record<string, string>): Promise<string>;
  /** Starts the server (extra args after `server run`); resolves when it listens. */
  start(...args: string[]): Promise<ServerProcess>;
  /** 127.0.0.1:PORT of the running server. */
  addr(): string;
}

/** A directory with a `bazil` script that runs this build. */
function wrapper(root: string): string {
  const dir = join(root, 'bin');
  mkdirSync(dir);
  writeFileSync(join(dir, 'bazil'), `#!/bin/sh\nexec "${process.execPath}" "${BAZIL}" "$@"\n`);
  chmodSync(join(dir, 'bazil'), 0o755);
  return dir;
}

export async function makeHost(t: TestContext, name: string): Promise<Host> {
  // Hooks run in the order registered: unmount (lazily) before the temp dir goes.
  let mnt = '';
  t.after(() => void (mnt && spawnSync('fusermount', ['-uz', mnt])));
  const root = tempDir(t, `bz-${name}-`);
  const dataDir = join(root, 'data');
  mnt = join(root, 'mnt');
  const bin = wrapper(root);
  const h: Host = {
    name,
    root,
    dataDir,
    mnt,
    key: '',
    sh: (script, env = {}) =>
      new Promise((resolve) => {
        execFile(
          'bash',
          ['-c', `set -o pipefail\n${script}`],
          { cwd: root, maxBuffer: 64 << 20, env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, BAZIL_DATA_DIR: dataDir, ...NO_DISCOVERY, ...env } },
          (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
        );
      }),
    async ok(script, env) {
      const r = await h.sh(script, env);
      assert.equal(r.code, 0, `${name}$ ${script}\nexit ${r.code}\n${r.stdout}${r.stderr}`);
      return r.stdout;
    },
    async start(...args) {
      h.server = await startServer(t, dataDir, args.length ? args : ['-addr=127.0.0.1:0']);
      return h.server;
    },
    addr: () => `127.0.0.1:${h.server!.port}`,
  };
  await h.ok('bazil create');
  h.key = (await h.ok('bazil debug pubkey')).trim();
  return h;
}

/** Polls check() until it returns true (or throws its last error after timeoutMs). */
export async function eventually(check: () => Promise<boolean | void> | boolean | void, timeoutMs = 10_000, what = 'the condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      if ((await check()) !== false) return;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw last ?? new Error(`${what} did not hold within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Two (or more) hosts sharing volume `v`, as the seed sets it up but both
 * ways: each knows the other's key and location, allows it the volume and its
 * store, and reads content from it. The first host creates the volume.
 */
export async function shareVolume(hosts: Host[], volume = 'v', extraServerArgs: string[] = []): Promise<void> {
  const [first, ...rest] = hosts;
  for (const h of hosts) if (!h.server) await h.start('-addr=127.0.0.1:0', ...extraServerArgs);
  await first.ok(`dd if=/dev/urandom of=sekrit bs=32 count=1 2>/dev/null && bazil sharing add friends <sekrit && bazil volume create -sharing=friends ${volume}`);
  for (const h of rest) await h.ok(`cp ${first.root}/sekrit . && bazil sharing add friends <sekrit`);
  const introduce = async (a: Host, b: Host) => {
    await a.ok(`bazil peer add ${b.key} && bazil peer location set ${b.key} ${b.addr()} && bazil peer storage allow ${b.key} local`);
  };
  for (const a of hosts) for (const b of hosts) if (a !== b) await introduce(a, b);
  await first.ok(rest.map((h) => `bazil peer volume allow ${h.key} ${volume}`).join(' && '));
  for (const h of rest) {
    await h.ok(`bazil volume connect -sharing=friends ${first.key} ${volume}`);
    await h.ok(`bazil volume storage add -sharing=friends ${volume} peerkey:${first.key}`);
    await h.ok(`bazil peer volume allow ${first.key} ${volume}`);
    await first.ok(`bazil volume storage add -sharing=friends ${volume} peerkey:${h.key}`);
  }
  for (const h of hosts) await h.ok(`mkdir -p mnt && bazil volume mount ${volume} mnt`);
}
