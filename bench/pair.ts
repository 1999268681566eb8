/**
 * `bazil pair` timed: from the command to the first file readable on the
 * other side (the remote's server started by pair, the volume connected,
 * mounted there, the file's content fetched), beside `ssh host true` to the
 * same private sshd in the same run; and a second `bazil pair` that finds
 * everything done. The "remote" is a second data dir on this machine, reached
 * over SSH on loopback.
 *
 * In the same rounds, `bazil invite --volume` then `bazil join` with its long
 * code (pasted at once) to the same first file read on the joining side (its
 * server started by join), on loopback: from the invite, and from the join.
 */
import { spawn } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { median, printRows, timed } from './report.js';
import { Cleanup, Host, q, sh, startSshd, VOLUME } from './sync.js';

const BAZIL = fileURLToPath(new URL('../../bin/bazil.js', import.meta.url));
const ROUNDS = 3;

export async function benchPair(base: string): Promise<void> {
  const root = mkdtempSync(join(base, 'pair-'));
  const cleanup = new Cleanup();
  cleanup.add(`remove ${root}`, () => rmSync(root, { recursive: true, force: true }));
  try {
    const ssh = await startSshd(join(root, 'ssh'), cleanup);
    if (typeof ssh === 'string') {
      console.log(`\npair bench: skipped: ${ssh}`);
      return;
    }
    const bin = join(root, 'bin');
    mkdirSync(bin);
    writeFileSync(join(bin, 'bazil'), `#!/bin/sh\nexec ${q(process.execPath)} ${q(BAZIL)} "$@"\n`);
    chmodSync(join(bin, 'bazil'), 0o755);
    const home = join(root, 'home');
    mkdirSync(join(home, '.ssh'), { recursive: true, mode: 0o700 });
    copyFileSync(join(ssh.dir, 'client_key'), join(home, '.ssh', 'id_ed25519'));
    chmodSync(join(home, '.ssh', 'id_ed25519'), 0o600);
    writeFileSync(join(home, '.ssh', 'config'), `Host benchhost\n  HostName 127.0.0.1\n  Port ${ssh.port}\n  User ${ssh.user}\n`);
    const known = (await sh(`ssh-keygen -y -f ${q(join(ssh.dir, 'host_key'))}`)).stdout.trim().split(' ').slice(0, 2).join(' ');
    writeFileSync(join(home, '.ssh', 'known_hosts'), `[127.0.0.1]:${ssh.port} ${known}\n`);

    const sshTrue: number[] = [];
    const toFile: number[] = [];
    const again: number[] = [];
    const inviteToFile: number[] = [];
    const joinToFile: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      sshTrue.push(await timed(() => sh(`${ssh.rsh} ${ssh.user}@127.0.0.1 true`)));
      const a = new Host('A', join(root, `a${round}`), bin, cleanup);
      const b = new Host('B', join(root, `b${round}`), bin, cleanup);
      await a.create();
      await b.create();
      await a.start(false);
      await a.bz(`bazil volume create ${VOLUME}`);
      await a.mount();
      writeFileSync(join(a.mnt, 'first.txt'), 'the first file\n');
      const remote = join(b.root, 'remote-bazil');
      writeFileSync(remote, `#!/bin/sh\nBAZIL_DISCOVERY=0 exec ${q(process.execPath)} ${q(BAZIL)} -data-dir=${q(b.dataDir)} "$@"\n`);
      chmodSync(remote, 0o755);
      // pair starts B's server: stop it (unmounting first) when done.
      cleanup.add(`stop the server of B (round ${round})`, () => b.bz('bazil volume unmount mnt; bazil server stop'));
      const pair = `HOME=${q(home)} SSH_AUTH_SOCK= setsid -w bazil pair benchhost --volume ${VOLUME} --remote-bazil ${q(remote)}`;
      toFile.push(
        await timed(async () => {
          await a.bz(pair);
          mkdirSync(b.mnt);
          await b.bz(`bazil volume mount ${VOLUME} mnt`);
          await readWhenThere(join(b.mnt, 'first.txt'));
        }),
      );
      again.push(await timed(() => a.bz(pair)));

      const c = new Host('C', join(root, `c${round}`), bin, cleanup);
      const d = new Host('D', join(root, `d${round}`), bin, cleanup);
      await c.create();
      await d.create();
      await c.start(false);
      await c.bz(`bazil volume create ${VOLUME}`);
      await c.mount();
      writeFileSync(join(c.mnt, 'first.txt'), 'the first file\n');
      cleanup.add(`stop the server of D (round ${round})`, () => d.bz('bazil volume unmount mnt; bazil server stop'));
      let joinStarted = 0n;
      inviteToFile.push(
        await timed(async () => {
          const code = await openInvite(c.dataDir);
          joinStarted = process.hrtime.bigint();
          await d.bz(`bazil join ${q(code.longCode)}`);
          await code.done;
          mkdirSync(d.mnt);
          await d.bz(`bazil volume mount ${VOLUME} mnt`);
          await readWhenThere(join(d.mnt, 'first.txt'));
        }),
      );
      joinToFile.push(Number(process.hrtime.bigint() - joinStarted) / 1e9);
    }
    const ref = { name: '`ssh host true`', value: median(sshTrue) };
    printRows(`pair: ${ROUNDS} rounds, medians (loopback sshd; the remote's server started by pair)`, [
      { name: 'bazil pair to the first file read there', value: median(toFile), unit: 's', reference: ref },
      { name: 'bazil pair again (nothing to do)', value: median(again), unit: 's', reference: ref },
      { name: 'bazil invite + join to the first file read there', value: median(inviteToFile), unit: 's', reference: ref },
      { name: 'bazil join to the first file read there', value: median(joinToFile), unit: 's', reference: ref },
    ]);
  } finally {
    await cleanup.run();
  }
}

/** Polls until the file reads as the first file (fetched through the mount). */
async function readWhenThere(path: string): Promise<void> {
  for (;;) {
    try {
      if (readFileSync(path, 'utf8') === 'the first file\n') return;
    } catch {
      // not there yet
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Starts `bazil invite --volume` on a data dir; resolves with its long code once printed, and its end. */
function openInvite(dataDir: string): Promise<{ longCode: string; done: Promise<void> }> {
  const child = spawn(process.execPath, [BAZIL, `-data-dir=${dataDir}`, 'invite', '--volume', VOLUME], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr.setEncoding('utf8').on('data', (s: string) => (err += s));
  const done = new Promise<void>((resolve, reject) =>
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`bazil invite failed (exit ${code}): ${out}${err}`)))),
  );
  return new Promise((resolve, reject) => {
    child.stdout.setEncoding('utf8').on('data', (s: string) => {
      out += s;
      const m = /^ {2}bazil join (\S+@\S+)$/m.exec(out);
      if (m) resolve({ longCode: m[1]!, done });
    });
    done.catch(reject);
  });
}
