/**
 * `bazil pair` timed: from the command to the first file readable on the
 * other side (the remote's server started by pair, the volume connected,
 * mounted there, the file's content fetched), beside `ssh host true` to the
 * same private sshd in the same run; and a second `bazil pair` that finds
 * everything done. The "remote" is a second data dir on this machine, reached
 * over SSH on loopback.
 */
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
          for (;;) {
            try {
              if (readFileSync(join(b.mnt, 'first.txt'), 'utf8') === 'the first file\n') break;
            } catch {
              // not there yet
            }
            await new Promise((r) => setTimeout(r, 20));
          }
        }),
      );
      again.push(await timed(() => a.bz(pair)));
    }
    const ref = { name: '`ssh host true`', value: median(sshTrue) };
    printRows(`pair: ${ROUNDS} rounds, medians (loopback sshd; the remote's server started by pair)`, [
      { name: 'bazil pair to the first file read there', value: median(toFile), unit: 's', reference: ref },
      { name: 'bazil pair again (nothing to do)', value: median(again), unit: 's', reference: ref },
    ]);
  } finally {
    await cleanup.run();
  }
}
