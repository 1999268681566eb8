/** Real mounts for tests: a data dir, a server process, a volume mounted on a temp dir. */
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { bazil, startServer, tempDir, type ServerProcess } from '../helpers.js';

/** Why FUSE tests cannot run here, or false when they can. */
export function fuseUnavailable(): string | false {
  if (!existsSync('/dev/fuse')) return 'no /dev/fuse on this machine: FUSE mounts cannot be tested';
  if (spawnSync('fusermount', ['-V']).status !== 0) return 'fusermount is not installed (run scripts/system-deps.sh)';
  return false;
}

export interface Volume {
  dataDir: string;
  mnt: string;
  server: ServerProcess;
  /** Runs a shell script with the mount as its working directory. */
  sh(script: string): Promise<{ code: number; stdout: string; stderr: string }>;
  /** Like sh, but fails the test unless the script exits 0. */
  ok(script: string): Promise<string>;
  cli(...args: string[]): Promise<string>;
  /** Starts the server again (after it stopped or was killed) and mounts the volume. */
  restart(): Promise<void>;
}

export function sh(script: string, cwd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('bash', ['-c', `set -o pipefail\n${script}`], { cwd, maxBuffer: 64 << 20 }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/** A fresh data dir with volume `v`, a running server, and `v` mounted on `mnt`. */
export async function mountedVolume(t: TestContext): Promise<Volume> {
  let mnt: string | undefined;
  // Registered first so it runs first (hooks run in order): unmount before the
  // temp dir is removed. A lazy unmount never blocks.
  t.after(() => void (mnt && spawnSync('fusermount', ['-uz', mnt])));
  const root = tempDir(t, 'bzf-');
  const dataDir = join(root, 'data');
  mnt = join(root, 'mnt');
  mkdirSync(mnt);
  const cli = async (...args: string[]) => {
    const r = await bazil([`-data-dir=${dataDir}`, ...args]);
    assert.equal(r.code, 0, `bazil ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  await cli('create');
  await cli('volume', 'create', 'v');
  const v: Volume = {
    dataDir,
    mnt: mnt,
    server: undefined as unknown as ServerProcess,
    sh: (script) => sh(script, root + '/mnt'),
    async ok(script) {
      const r = await sh(script, root + '/mnt');
      assert.equal(r.code, 0, `${script}\nexit ${r.code}\n${r.stderr}`);
      return r.stdout;
    },
    cli,
    async restart() {
      v.server = await startServer(t, dataDir);
      await cli('volume', 'mount', 'v', root + '/mnt');
    },
  };
  await v.restart();
  return v;
}
