/**
 * Where `bazil pair [user@]host[:port]` goes: the target as typed, completed
 * by ~/.ssh/config (Host aliases, HostName, User, Port, IdentityFile) the way
 * `ssh` reads it, with the ssh-config parser.
 */
import { existsSync, readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import SSHConfig from 'ssh-config';
import { BazilError } from '../engine/errors.js';

export interface SshTarget {
  /** The host as typed (a Host alias, maybe): what known_hosts and messages name. */
  alias: string;
  /** The host to dial (HostName, else the alias). */
  host: string;
  port: number;
  user: string;
  /** Private key files to try, in order (IdentityFile, else the usual three). */
  identityFiles: string[];
}

const TARGET_HELP = 'write [user@]host[:port], e.g. white.local, me@192.0.2.7 or me@[2001:db8::7]:2222';

/** Splits [user@]host[:port]; an IPv6 address goes in brackets when a port follows. */
export function parseTarget(text: string): { user?: string; host: string; port?: number } {
  const bad = (why: string) => new BazilError('INVALID_ARGUMENT', `"${text}" is not an SSH destination (${why}): ${TARGET_HELP}`);
  const at = text.lastIndexOf('@');
  const user = at >= 0 ? text.slice(0, at) : undefined;
  if (user === '') throw bad('empty user');
  const rest = text.slice(at + 1);
  let port: number | undefined;
  let host: string;
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(rest);
  if (bracketed) {
    host = bracketed[1];
    if (bracketed[2] !== undefined) port = Number(bracketed[2]);
  } else if ((rest.match(/:/g) ?? []).length === 1) {
    const [h, p] = rest.split(':');
    if (!/^\d+$/.test(p)) throw bad(`the port "${p}" is not a number`);
    host = h;
    port = Number(p);
  } else {
    host = rest; // a name, an IPv4 address, or a bare IPv6 address without a port
  }
  if (host === '' || /[\s/]/.test(host)) throw bad('no host');
  if (port !== undefined && (port < 1 || port > 65535)) throw bad(`the port must be 1 to 65535, got ${port}`);
  return { user, host, port };
}

const expandHome = (path: string, home: string) => (path === '~' ? home : path.startsWith('~/') ? join(home, path.slice(2)) : path);

/** The target completed from HOME/.ssh/config, as `ssh` would (what is typed wins over the file). */
export function resolveTarget(text: string, home: string): SshTarget {
  const typed = parseTarget(text);
  const configPath = join(home, '.ssh', 'config');
  let computed: Record<string, string | string[]> = {};
  if (existsSync(configPath)) {
    try {
      computed = SSHConfig.parse(readFileSync(configPath, 'utf8')).compute(typed.host);
    } catch (err) {
      throw new BazilError('INVALID_ARGUMENT', `cannot read ${configPath}: ${(err as Error).message}; fix it (\`ssh -G ${typed.host}\` shows how ssh reads it)`);
    }
  }
  const one = (key: string): string | undefined => {
    const value = computed[key];
    return Array.isArray(value) ? value[0] : value;
  };
  const port = typed.port ?? (one('Port') !== undefined ? Number(one('Port')) : 22);
  const files = computed.IdentityFile;
  const identityFiles = (files === undefined ? ['~/.ssh/id_ed25519', '~/.ssh/id_ecdsa', '~/.ssh/id_rsa'] : Array.isArray(files) ? files : [files]).map((f) =>
    expandHome(f, home),
  );
  return {
    alias: typed.host,
    host: (one('HostName') ?? typed.host).replace(/%h/g, typed.host),
    port,
    user: typed.user ?? one('User') ?? userInfo().username,
    identityFiles,
  };
}
