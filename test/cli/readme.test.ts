/**
 * The README's walkthrough, run as written: the blocks marked
 * `<!-- walkthrough ... -->` are pasted into one bash session, in an empty
 * directory with a fresh default data dir, and the output each one shows
 * must come out (pids, ports, keys, times and the home directory may differ).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BAZIL, tempDir } from '../helpers.js';
import { fuseUnavailable } from '../fuse/mount-helpers.js';

const README = fileURLToPath(new URL('../../../README.md', import.meta.url));

interface Step {
  command: string;
  /** The output lines the README shows after it. */
  shown: string[];
}

/** The steps of every walkthrough block, in order. */
function walkthrough(readme: string): Step[] {
  const steps: Step[] = [];
  const blocks = readme.split('\n<!-- walkthrough').slice(1).map((rest) => {
    const body = /^[^\n]*\n```sh\n([\s\S]*?)\n```/.exec(rest);
    assert.ok(body, 'a walkthrough marker stands right before a ```sh block');
    return body[1];
  });
  for (const block of blocks) {
    for (const line of block.split('\n')) {
      if (line.startsWith('$ ')) steps.push({ command: line.slice(2), shown: [] });
      else if (line.trim()) steps.at(-1)!.shown.push(line);
    }
  }
  return steps;
}

/** A shown line as a pattern: what differs from run to run matches anything of its kind. */
function pattern(shown: string): RegExp {
  const parts = shown.split(/(\/home\/me|[0-9a-f]*\.\.\.|[0-9a-f]{16,}|\d+)/);
  const source = parts
    .map((p, i) => {
      if (i % 2 === 0) return p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      if (p === '/home/me') return '/.+';
      if (p.endsWith('...')) return '[0-9a-f]+'; // a key, cut short
      if (/^\d+$/.test(p)) return '\\d+';
      return '[0-9a-f]+';
    })
    .join('');
  return new RegExp(`^${source}$`);
}

const mounted = (dir: string) => readFileSync('/proc/self/mounts', 'utf8').split('\n').some((l) => l.split(' ')[1] === dir);

test('the README walkthrough runs as written and prints what it shows', { skip: fuseUnavailable() }, async (t) => {
  let home = '';
  // The walkthrough leaves its servers running: they are killed when the test
  // ends, and their mounts cleared. Registered first, so it runs before the
  // temp dir is removed.
  t.after(() => {
    for (const dir of [join(home, '.local/share/bazil'), join(home, 'work/white'), join(home, 'work/black')]) {
      if (!existsSync(join(dir, 'control.sock'))) continue;
      try {
        process.kill(Number(readFileSync(join(dir, 'lock.pid'), 'utf8')), 'SIGKILL');
      } catch {
        // gone already
      }
    }
    for (const m of ['mnt', 'white-mnt', 'black-mnt']) if (mounted(join(home, 'work', m))) spawnSync('fusermount', ['-uz', join(home, 'work', m)]);
  });
  home = tempDir(t, 'bzr-');
  const work = join(home, 'work');
  const bin = join(home, 'bin');
  mkdirSync(work);
  mkdirSync(bin);
  symlinkSync(BAZIL, join(bin, 'bazil'));
  const env = { ...process.env, HOME: home, XDG_DATA_HOME: '', BAZIL_DATA_DIR: '', PATH: `${bin}:${process.env.PATH}` };
  const steps = walkthrough(readFileSync(README, 'utf8'));
  assert.ok(steps.length > 30, `found ${steps.length} steps`);
  const script = steps.map((s, i) => `echo "@@step ${i}"\n{ ${s.command}\n} 2>&1\necho "@@exit $?"`).join('\n');
  const out = await new Promise<string>((resolve) =>
    execFile('bash', ['-c', script], { cwd: work, env, maxBuffer: 16 << 20, timeout: 120_000 }, (_err, stdout) => resolve(stdout)),
  );
  const outputs = out.split(/^@@step \d+\n/m).slice(1);
  for (const [i, step] of steps.entries()) {
    const got = outputs[i];
    assert.ok(got !== undefined, `step ${i} did not run: ${step.command}\n${out}`);
    const lines = got.split('\n');
    const exit = lines.findIndex((l) => l.startsWith('@@exit '));
    assert.equal(lines[exit], '@@exit 0', `$ ${step.command}\n${got}`);
    let at = 0;
    for (const shown of step.shown) {
      const re = pattern(shown);
      while (at < exit && !re.test(lines[at])) at++;
      assert.ok(at < exit, `$ ${step.command}\nthe README shows: ${shown}\nit printed:\n${lines.slice(0, exit).join('\n')}`);
      at++;
    }
  }
});
