/**
 * A private OpenSSH sshd on loopback for tests (`bazil pair`, sftp:// stores):
 * its own host key, authorized_keys and port, logging in root by key only.
 */
import type { TestContext } from 'node:test';
import { spawn, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';

export interface Sshd {
  port: number;
  /** The sshd's directory: host_key, client_key (authorized), other_key (not). */
  dir: string;
  /** Stops it and drops the connections it serves (their processes, by pid), as a server going down does. */
  stop(): Promise<void>;
}

/** The pids of a process's children (from /proc). */
function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // /proc/PID/stat: pid (comm) state ppid ...; comm may hold spaces, so read after the last ')'.
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid) out.push(Number(entry));
    } catch {
      // gone already
    }
  }
  return out;
}

/** A loopback port free now (for a server that cannot be told to pick one itself). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

/** Why a private sshd cannot run here, or undefined. */
export function sshdUnavailable(): string | undefined {
  if (!existsSync('/usr/sbin/sshd')) return 'no /usr/sbin/sshd (apt-get install openssh-server)';
  if (process.getuid?.() !== 0) return 'not root (the private sshd logs in as the user running it, which needs root)';
  try {
    execFileSync('sh', ['-c', 'command -v ssh-keygen'], { stdio: 'ignore' });
  } catch {
    return 'no ssh-keygen on the PATH';
  }
  return undefined;
}

/**
 * The config of a private sshd on loopback: host key, authorized_keys and
 * client key in dir, root by key only, SFTP served. Returns its path.
 */
export function writeSshdConfig(dir: string, port: number): string {
  const config = join(dir, 'sshd_config');
  writeFileSync(
    config,
    [
      'ListenAddress 127.0.0.1',
      `Port ${port}`,
      `HostKey ${join(dir, 'host_key')}`,
      `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
      'PermitRootLogin prohibit-password',
      'PubkeyAuthentication yes',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'StrictModes no',
      'UsePAM no',
      'PidFile none',
      'Subsystem sftp internal-sftp',
      '',
    ].join('\n'),
  );
  return config;
}

/** A private sshd on loopback, logging in root by key only; stopped when the test ends. */
export async function startSshd(t: TestContext, dir: string): Promise<Sshd> {
  mkdirSync(dir);
  execFileSync('sh', ['-c', "ssh-keygen -q -t ed25519 -N '' -f host_key && ssh-keygen -q -t ed25519 -N '' -f client_key && ssh-keygen -q -t ed25519 -N '' -f other_key && cp client_key.pub authorized_keys"], { cwd: dir });
  if (!existsSync('/run/sshd')) mkdirSync('/run/sshd', { mode: 0o755 }); // sshd's privilege separation directory
  const port = await freePort();
  const config = writeSshdConfig(dir, port);
  const child = spawn('/usr/sbin/sshd', ['-f', config, '-D', '-e'], { stdio: ['ignore', 'ignore', 'pipe'] });
  const exited = new Promise<void>((resolve) => child.on('close', () => resolve()));
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    for (const pid of childrenOf(child.pid!)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // ended on its own
      }
    }
    child.kill('SIGTERM');
    await exited;
  };
  t.after(stop);
  let log = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`sshd did not listen within 10 s: ${log}`)), 10_000);
    child.stderr!.setEncoding('utf8').on('data', (s: string) => {
      log += s;
      if (/Server listening on 127\.0\.0\.1 port/.test(log)) {
        clearTimeout(timer);
        resolve();
      }
    });
    void exited.then(() => reject(new Error(`sshd exited: ${log}`)));
  });
  return { port, dir, stop };
}

