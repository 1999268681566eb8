/**
 * How promptly a server answers while something pushes it, and how soon a
 * change reaches the other side on its own. Three figures, each beside a
 * reference from the same run:
 *  - a change written on white shows in black's mount, with the README's
 *    one-way grants and automatic sync; reference: `bazil volume sync` run by
 *    hand for the same kind of change (servers in --manual-sync);
 *  - the slowest control-socket ping while 300 anonymous handshakes arrive
 *    from another process; reference: the slowest ping of an idle server;
 *  - the slowest ping while a program in the mount grows a file to 1 TiB and
 *    truncates it again, in a loop; reference: the same idle figure.
 * A ping is one request on a connection opened before, so it measures the
 * server's main thread, not process start.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { median, printRows, type Row } from './report.js';

const BAZIL = fileURLToPath(new URL('../../bin/bazil.js', import.meta.url));
const HANDSHAKE = fileURLToPath(new URL('../src/engine/peer/handshake.js', import.meta.url));
const IDENTITY = fileURLToPath(new URL('../src/engine/peer/identity.js', import.meta.url));
const ROUNDS = 10;

function bazil(dataDir: string, args: string, cwd: string): string {
  const r = spawnSync('bash', ['-c', `"${process.execPath}" "${BAZIL}" -data-dir="${dataDir}" ${args}`], { cwd, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`bazil ${args}: exit ${r.status}\n${r.stdout}${r.stderr}`);
  return r.stdout;
}

/** A connection to a server's control socket that times one ping at a time. */
class Pinger {
  private buffered = '';
  private waiting?: () => void;
  private nextId = 1;

  private constructor(private readonly socket: Socket) {
    socket.setEncoding('utf8').on('data', (s: string) => {
      this.buffered += s;
      if (this.buffered.includes('\n')) {
        this.buffered = this.buffered.slice(this.buffered.lastIndexOf('\n') + 1);
        this.waiting?.();
      }
    });
  }

  static async open(dataDir: string): Promise<Pinger> {
    const socket = connect(join(dataDir, 'control.sock'));
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    return new Pinger(socket);
  }

  /** Milliseconds for one answer. */
  async ping(): Promise<number> {
    const t = process.hrtime.bigint();
    const answered = new Promise<void>((resolve) => (this.waiting = resolve));
    this.socket.write(`${JSON.stringify({ id: this.nextId++, method: 'ping', params: {} })}\n`);
    await answered;
    return Number(process.hrtime.bigint() - t) / 1e6;
  }

  /** The slowest ping, pinging every 10 ms until done settles. */
  async slowestWhile(done: Promise<unknown>): Promise<number> {
    let over = false;
    void done.finally(() => (over = true));
    let worst = 0;
    while (!over) {
      worst = Math.max(worst, await this.ping());
      await new Promise((r) => setTimeout(r, 10));
    }
    return worst;
  }

  close(): void {
    this.socket.destroy();
  }
}

/** Runs a command to its end; resolves either way. */
function running(cmd: string, args: string[], cwd?: string): Promise<void> {
  return new Promise((resolve) => spawn(cmd, args, { cwd, stdio: 'ignore' }).on('close', () => resolve()));
}

/** Milliseconds until path exists (polled every 5 ms), or Infinity after 30 s. */
async function appears(path: string): Promise<number> {
  const t = Date.now();
  while (!existsSync(path)) {
    if (Date.now() - t > 30_000) return Infinity;
    await new Promise((r) => setTimeout(r, 5));
  }
  return Date.now() - t;
}

export async function benchResponsiveness(base: string): Promise<void> {
  const root = mkdtempSync(join(base, 'responsive-'));
  const white = join(root, 'white');
  const black = join(root, 'black');
  const whiteMnt = join(root, 'white-mnt');
  const blackMnt = join(root, 'black-mnt');
  const stop = () => {
    for (const d of [white, black]) spawnSync(process.execPath, [BAZIL, `-data-dir=${d}`, 'server', 'stop'], { stdio: 'ignore' });
    for (const m of [whiteMnt, blackMnt]) spawnSync('fusermount', ['-uz', m], { stdio: 'ignore' });
  };
  try {
    // The README's walkthrough: black may sync white's volume; white knows no way back.
    for (const d of [white, black]) bazil(d, 'create', root);
    const whiteKey = bazil(white, 'debug pubkey', root).trim();
    const blackKey = bazil(black, 'debug pubkey', root).trim();
    const start = (manual: boolean) => {
      for (const d of [white, black]) bazil(d, `server start -addr=127.0.0.1:0${manual ? ' --manual-sync' : ''}`, root);
      return bazil(white, 'server ping', root).replace(/.* listening on /, '').trim();
    };
    const whiteAddr = start(false);
    writeFileSync(join(root, 'sekrit'), Buffer.alloc(32, 7));
    bazil(white, 'sharing add friends <sekrit', root);
    bazil(white, 'volume create -sharing=friends myfiles', root);
    bazil(white, `peer add ${blackKey}`, root);
    bazil(white, `peer storage allow ${blackKey} local`, root);
    bazil(white, `peer volume allow ${blackKey} myfiles`, root);
    bazil(black, `peer add ${whiteKey}`, root);
    bazil(black, `peer location set ${whiteKey} ${whiteAddr}`, root);
    bazil(black, 'sharing add friends <sekrit', root);
    bazil(black, `volume connect -sharing=friends ${whiteKey} myfiles`, root);
    bazil(black, `volume storage add -sharing=friends myfiles peerkey:${whiteKey}`, root);
    mkdirSync(whiteMnt);
    mkdirSync(blackMnt);
    bazil(white, `volume mount myfiles ${whiteMnt}`, root);
    bazil(black, `volume mount myfiles ${blackMnt}`, root);

    const auto: number[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      writeFileSync(join(whiteMnt, `auto-${i}`), `change ${i}\n`);
      auto.push(await appears(join(blackMnt, `auto-${i}`)));
    }

    const pinger = await Pinger.open(white);
    const idle = await pinger.slowestWhile(new Promise((r) => setTimeout(r, 2000)));
    const attack = `
      const { connect } = await import('node:net');
      const { randomBytes } = await import('node:crypto');
      const { clientHandshake } = await import(${JSON.stringify(HANDSHAKE)});
      const { identityFromSeed } = await import(${JSON.stringify(IDENTITY)});
      const [host, port] = ${JSON.stringify(whiteAddr)}.split(':');
      await Promise.all(Array.from({ length: 300 }, async () => {
        const s = connect({ host, port: Number(port) });
        s.on('error', () => {});
        await new Promise((r) => s.once('connect', r).once('error', r));
        await clientHandshake(s, { identity: identityFromSeed(randomBytes(32)), expectKey: Buffer.alloc(32), where: 'bench', timeoutMs: 10000 }).catch(() => {});
        s.destroy();
      }));`;
    const handshakes = await pinger.slowestWhile(running(process.execPath, ['--input-type=module', '-e', attack]));
    const loop = 'for i in $(seq 30); do truncate -s 1T big && echo x >>big && truncate -s 4096 big && truncate -s 0 big; done; rm -f big';
    const truncating = await pinger.slowestWhile(running('bash', ['-c', loop], whiteMnt));
    pinger.close();

    // The reference: the same change, pulled by hand. The servers mount their volumes again where they were.
    stop();
    bazil(black, `peer location set ${whiteKey} ${start(true)}`, root);
    const manual: number[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      writeFileSync(join(whiteMnt, `manual-${i}`), `change ${i}\n`);
      const t = Date.now();
      bazil(black, `volume sync myfiles ${whiteKey}`, root);
      manual.push(existsSync(join(blackMnt, `manual-${i}`)) ? Date.now() - t : Infinity);
    }

    const rows: Row[] = [
      {
        name: 'a change shows on the other side, automatic sync (median)',
        value: median(auto),
        unit: 'ms',
        reference: { name: '`bazil volume sync` by hand', value: median(manual) },
        target: { value: 2000, higher: false },
      },
      { name: 'the same, slowest of ' + ROUNDS, value: Math.max(...auto), unit: 'ms', reference: { name: '`bazil volume sync` by hand', value: Math.max(...manual) } },
      { name: 'slowest ping during 300 anonymous handshakes', value: handshakes, unit: 'ms', reference: { name: 'slowest ping, idle', value: idle } },
      { name: 'slowest ping during 1 TiB truncate loops', value: truncating, unit: 'ms', reference: { name: 'slowest ping, idle', value: idle }, target: { value: 100, higher: false } },
    ];
    printRows('Responsiveness (white and black as in the README)', rows);
  } finally {
    stop();
  }
}
