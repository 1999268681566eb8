/** What installing asks of the machine: system packages for running vs for testing, and `npm link` as the README says. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, symlinkSync, writeFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tempDir } from '../helpers.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const SCRIPT = join(ROOT, 'scripts', 'system-deps.sh');

/** Runs system-deps.sh on a machine where nothing is installed, as a user who is not root. */
function onBareMachine(t: Parameters<typeof tempDir>[0], args: string[]): { status: number | null; stderr: string } {
  const bin = tempDir(t);
  for (const tool of ['grep']) symlinkSync(spawnSync('bash', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).stdout.trim(), join(bin, tool));
  for (const [name, body] of [['id', 'echo 1000'], ['ldconfig', 'true']]) {
    writeFileSync(join(bin, name), `#!/bin/sh\n${body}\n`);
    chmodSync(join(bin, name), 0o755);
  }
  const r = spawnSync('/bin/bash', [SCRIPT, ...args], { encoding: 'utf8', env: { PATH: bin } });
  return { status: r.status, stderr: r.stderr };
}

test('npm install asks only for what running needs; npm test adds what the tests need', (t) => {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  // Other install steps may come before it (building native modules); the system packages asked for are the run-time ones.
  assert.match(pkg.scripts.postinstall, /(^|&& )bash scripts\/system-deps\.sh$/);
  assert.match(pkg.scripts.pretest, /^bash scripts\/system-deps\.sh --test && /);

  const run = onBareMachine(t, []);
  assert.equal(run.status, 0);
  assert.equal(run.stderr, 'bazil: missing system packages: libfuse3-dev pkg-config fuse3\nbazil: install them (e.g. sudo apt-get install libfuse3-dev pkg-config fuse3); FUSE mounts need them\n');
  const tests = onBareMachine(t, ['--test']);
  assert.equal(tests.status, 0);
  assert.match(tests.stderr, /^bazil: missing system packages: libfuse3-dev pkg-config fuse3 sqlite3 git procps tmux (openssh-server )?openssh-client rsync attr\n/);
});

test('`npm link --ignore-scripts`, as the README says, puts bazil on the PATH without a warning', { skip: spawnSync('npm', ['--version']).error && 'no npm here' }, (t) => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  assert.match(readme, /^npm link --ignore-scripts +#/m);
  const prefix = tempDir(t);
  const r = spawnSync('npm', ['link', '--ignore-scripts'], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, npm_config_prefix: prefix, npm_config_offline: 'true', npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_audit: 'false' },
  });
  assert.equal(r.status, 0, r.stderr);
  assert.doesNotMatch(r.stderr, /warn/);
  const version = spawnSync(join(prefix, 'bin', 'bazil'), ['--version'], { encoding: 'utf8' });
  assert.equal(version.stdout, `${(JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version}\n`);
});
