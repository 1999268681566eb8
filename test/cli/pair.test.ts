/**
 * `bazil pair` against a real OpenSSH sshd started on loopback (its own host
 * key, authorized_keys and port), the "remote" bazil being a second data dir
 * on this machine, run through a wrapper script as the SSH user's command.
 * Each `bazil pair` runs under setsid: no terminal, so nothing is asked.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BAZIL } from '../helpers.js';
import { startSshd, sshdUnavailable } from '../helpers/sshd.js';
import { eventually, makeHost } from '../sync/hosts.js';

/** Why the test cannot run here, or undefined. */
function cannotRun(): string | undefined {
  const sshd = sshdUnavailable();
  if (sshd) return sshd;
  try {
    execFileSync('sh', ['-c', 'command -v setsid && command -v fusermount'], { stdio: 'ignore' });
  } catch {
    return 'no setsid or fusermount on the PATH';
  }
  return undefined;
}

/** The scene: white (here) and black (the "remote"), the sshd, white's HOME with ~/.ssh. */
async function scene(t: TestContext) {
  const white = await makeHost(t, 'white');
  const black = await makeHost(t, 'black');
  const sshd = await startSshd(t, join(white.root, 'sshd'));
  const home = join(white.root, 'home');
  mkdirSync(join(home, '.ssh'), { recursive: true, mode: 0o700 });
  copyFileSync(join(sshd.dir, 'client_key'), join(home, '.ssh', 'id_ed25519'));
  chmodSync(join(home, '.ssh', 'id_ed25519'), 0o600);
  copyFileSync(join(sshd.dir, 'other_key'), join(home, '.ssh', 'other_key'));
  chmodSync(join(home, '.ssh', 'other_key'), 0o600);
  writeFileSync(
    join(home, '.ssh', 'config'),
    `Host blackhost\n  HostName 127.0.0.1\n  Port ${sshd.port}\n  User root\n\nHost wrongkey\n  HostName 127.0.0.1\n  Port ${sshd.port}\n  User root\n  IdentityFile ~/.ssh/other_key\n`,
  );
  // The other machine's bazil: this build on black's data dir.
  const remoteBazil = join(black.root, 'remote-bazil');
  // sshd gives it a fresh environment: discovery is turned off here, as for every server tests start.
  writeFileSync(remoteBazil, `#!/bin/sh\nBAZIL_DISCOVERY=0 exec "${process.execPath}" "${BAZIL}" -data-dir=${black.dataDir} "$@"\n`);
  chmodSync(remoteBazil, 0o755);
  // One that fails its introduction: a pairing cut off after this side did its part.
  const cutOff = join(black.root, 'cut-off-bazil');
  writeFileSync(cutOff, `#!/bin/sh\n[ "$3" = introduce ] && { echo "connection lost" >&2; exit 1; }\nexec "${remoteBazil}" "$@"\n`);
  chmodSync(cutOff, 0o755);
  // A bazil from before pairing: it does not know the command.
  const old = join(black.root, 'old-bazil');
  writeFileSync(old, '#!/bin/sh\necho "bazil: unknown command \\`bazil debug pair-remote\\`; \\`bazil help debug\\` lists the commands" >&2\nexit 2\n');
  chmodSync(old, 0o755);
  const pair = (args: string) => white.sh(`setsid -w bazil pair ${args}`, { HOME: home, SSH_AUTH_SOCK: '' });
  return { white, black, sshd, home, remoteBazil, cutOff, old, pair };
}

const skip = cannotRun();

function refused(r: { code: number; stdout: string; stderr: string }, message: RegExp): void {
  assert.notEqual(r.code, 0, `expected a refusal, got:\n${r.stdout}${r.stderr}`);
  assert.match(r.stderr, message);
}

test('bazil pair over a real sshd: refusals, then a full pairing with two volumes, then again', { skip }, async (t) => {
  const { white, black, sshd, home, remoteBazil, cutOff, old, pair } = await scene(t);
  await white.start();
  await white.ok('bazil volume create myfiles && bazil volume create photos && mkdir mnt && bazil volume mount myfiles mnt && echo hello from white >mnt/greeting.txt');
  const knownHosts = join(home, '.ssh', 'known_hosts');

  // Black's server is started by pair; stopped (and its mount undone) whatever happens.
  try {
    // An unknown host key, no --yes and nobody to ask: refused, nothing done.
    let r = await pair(`blackhost --remote-bazil ${remoteBazil}`);
    refused(r, /is not in .*known_hosts \(its ssh-ed25519 key fingerprint SHA256:.*run again with --yes/);
    assert.equal(existsSync(knownHosts), false);
    assert.equal(await white.ok('bazil peer list'), '');

    // A wrong key: refused.
    r = await pair(`wrongkey --yes --remote-bazil ${remoteBazil}`);
    refused(r, /refused every way to log in/);
    // A wrong user: refused.
    r = await pair(`nobody@blackhost --remote-bazil ${remoteBazil}`);
    refused(r, /refused every way to log in/);
    // The host key was accepted by --yes above and added to known_hosts, as ssh does.
    assert.match(readFileSync(knownHosts, 'utf8'), new RegExp(`^\\[127\\.0\\.0\\.1\\]:${sshd.port} ssh-ed25519 `, 'm'));

    // No bazil there.
    r = await pair('blackhost --remote-bazil /nonexistent/bazil');
    refused(r, /has no `\/nonexistent\/bazil` on its PATH/);
    // A bazil too old to pair.
    r = await pair(`blackhost --remote-bazil ${old}`);
    refused(r, /the other machine's bazil is too old to pair/);

    // Cut off mid-way: this side did its part, the other did not.
    r = await pair(`blackhost --volume myfiles --remote-bazil ${cutOff}`);
    refused(r, /connection lost/);
    assert.match(r.stderr, /Started the bazil server on blackhost/, "black's server was not running: pair started it");
    assert.match(await white.ok('bazil peer list'), new RegExp(`^${black.key}\\tname=`, 'm'));

    // Run again, with a second volume: finished.
    r = await pair(`blackhost --volume myfiles --volume photos --remote-bazil ${remoteBazil}`);
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stdout, /^Here: added peer/m, 'this side was done already');
    assert.match(r.stdout, /On blackhost: added peer /);
    assert.match(r.stdout, /On blackhost: connected volume myfiles from /);
    assert.match(r.stdout, /On blackhost: connected volume photos from /);
    assert.match(r.stdout, /^Here: let \S+ sync photos\.$/m);
    assert.match(r.stdout, /Paired with .* Handshakes checked both ways\. Shared: each side's store, volume myfiles, volume photos\./);
    assert.doesNotMatch(r.stdout + r.stderr, /[A-Za-z0-9+/]{43}=/, 'no sharing key in what is printed');

    // A file written on white is read on black.
    await black.ok(`mkdir mnt && bazil volume mount myfiles mnt`);
    await eventually(async () => (await black.sh('cat mnt/greeting.txt')).stdout === 'hello from white\n', 15_000, 'greeting.txt on black');

    // Twice: nothing changes, and it says so.
    const before = [await white.ok('bazil peer list'), await black.ok('bazil peer list')];
    r = await pair(`blackhost --volume myfiles --volume photos --remote-bazil ${remoteBazil}`);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^Already paired with .*; nothing changed\./m);
    assert.deepEqual([await white.ok('bazil peer list'), await black.ok('bazil peer list')], before);

    // A changed host key: refused, loudly.
    writeFileSync(knownHosts, `[127.0.0.1]:${sshd.port} ${readFileSync(join(sshd.dir, 'other_key.pub'), 'utf8').split(' ').slice(0, 2).join(' ')}\n`);
    r = await pair(`blackhost --yes --remote-bazil ${remoteBazil}`);
    refused(r, /HOST KEY OF \[127\.0\.0\.1\]:\d+ HAS CHANGED/);
  } finally {
    await black.sh('bazil volume unmount mnt; bazil server stop');
  }
});


