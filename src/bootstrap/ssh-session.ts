/**
 * An SSH connection for `bazil pair`, made the way `ssh` makes one: the host
 * key checked against known_hosts first (an unknown one shown and asked
 * about, a changed one refused), then the agent, the private key files
 * (asking for a passphrase when one is needed), then a password.
 */
import { existsSync, readFileSync } from 'node:fs';
import { connect as tcpConnect, type Socket } from 'node:net';
import { join } from 'node:path';
import ssh2 from 'ssh2';
import type { AnyAuthMethod, AuthenticationType, Client as SshClient, NextAuthHandler } from 'ssh2';
import { BazilError } from '../engine/errors.js';
import { addKnownHost, checkHostKey, fingerprint, hostEntryName, keyType, readKnownHosts } from './known-hosts.js';
import type { SshTarget } from './ssh-target.js';
import type { Terminal } from './terminal.js';

export interface SshOptions {
  home: string;
  /** Accept an unknown host key without asking (it is still added to known_hosts). */
  yes: boolean;
  terminal: Terminal | undefined;
  /** For what the person should see (on stderr). */
  say(line: string): void;
}

export interface SshSession {
  client: SshClient;
  /** This machine's address on the connection: where the other machine sees us come from. */
  localAddress: string;
  close(): void;
}

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

const SSH_TIMEOUT_MS = 20_000;

/** Decides on the host key; throws (a BazilError saying why) rather than accept an unchecked one. */
async function verifyHostKey(target: SshTarget, raw: Buffer, opts: SshOptions): Promise<void> {
  const path = join(opts.home, '.ssh', 'known_hosts');
  const name = hostEntryName(target.host, target.port);
  const seen = checkHostKey(readKnownHosts(path), name, raw);
  const print = `${keyType(raw)} key fingerprint ${fingerprint(raw)}`;
  if (seen.status === 'known') return;
  if (seen.status === 'revoked') throw new BazilError('UNAUTHORIZED', `the host key of ${name} (${print}) is marked @revoked in ${path}:${seen.line}; refusing to connect`);
  if (seen.status === 'changed') {
    throw new BazilError(
      'UNAUTHORIZED',
      `WARNING: THE HOST KEY OF ${name} HAS CHANGED (now ${print}; ${path}:${seen.line} has another). Someone may be intercepting the connection, ` +
        `or the host was reinstalled. Refusing to connect. If you know why it changed, remove the old key with \`ssh-keygen -R '${name}'\` and pair again.`,
    );
  }
  if (!opts.yes) {
    if (!opts.terminal) {
      throw new BazilError(
        'UNAUTHORIZED',
        `the host ${name} is not in ${path} (its ${print}), and there is no terminal to ask; check the fingerprint with its owner, then run again with --yes (or connect once with \`ssh\`)`,
      );
    }
    const answer = await opts.terminal.ask(`The authenticity of host '${name}' can't be established.\n${print}.\nAre you sure you want to continue connecting (yes/no)? `);
    if (answer.trim().toLowerCase() !== 'yes') throw new BazilError('UNAUTHORIZED', `host key of ${name} not accepted; nothing was done`);
  }
  addKnownHost(path, name, raw);
  opts.say(`Warning: permanently added '${name}' (${keyType(raw)}, ${fingerprint(raw)}) to the list of known hosts.`);
}

/** The ways to log in, in ssh's order, each made only when the server asks for the next. */
function authMethods(target: SshTarget, opts: SshOptions): () => Promise<AnyAuthMethod | false> {
  const username = target.user;
  const steps: (() => Promise<AnyAuthMethod | undefined>)[] = [];
  const agent = process.env.SSH_AUTH_SOCK;
  if (agent) steps.push(async () => ({ type: 'agent', username, agent }));
  for (const file of target.identityFiles) {
    steps.push(async () => {
      if (!existsSync(file)) return undefined;
      const key = readFileSync(file);
      let parsed = ssh2.utils.parseKey(key);
      let passphrase: string | undefined;
      if (parsed instanceof Error && /passphrase|encrypted/i.test(parsed.message)) {
        if (!opts.terminal) {
          opts.say(`Skipping ${file}: it needs a passphrase and there is no terminal to ask (add it to ssh-agent).`);
          return undefined;
        }
        passphrase = await opts.terminal.ask(`Enter passphrase for key '${file}': `, true);
        parsed = ssh2.utils.parseKey(key, passphrase);
      }
      if (parsed instanceof Error) {
        opts.say(`Skipping ${file}: ${parsed.message}.`);
        return undefined;
      }
      return { type: 'publickey', username, key, passphrase };
    });
  }
  steps.push(async () => {
    if (!opts.terminal) return undefined;
    return { type: 'password', username, password: await opts.terminal.ask(`${username}@${target.host}'s password: `, true) };
  });
  return async () => {
    for (let step = steps.shift(); step; step = steps.shift()) {
      const method = await step();
      if (method) return method;
    }
    return false;
  };
}

export async function openSsh(target: SshTarget, opts: SshOptions): Promise<SshSession> {
  const where = `${target.user}@${hostEntryName(target.host, target.port)}`;
  const sock: Socket = await new Promise((resolve, reject) => {
    const s = tcpConnect({ host: target.host, port: target.port });
    s.setTimeout(SSH_TIMEOUT_MS, () => s.destroy(new Error('timed out')));
    s.once('connect', () => {
      s.setTimeout(0);
      resolve(s);
    });
    s.once('error', (err) => reject(new BazilError('UNAVAILABLE', `cannot reach ${where}: ${err.message}; is the host up and its sshd listening on port ${target.port}?`)));
  });
  const client = new ssh2.Client();
  let refusal: Error | undefined;
  const next = authMethods(target, opts);
  try {
    await new Promise<void>((resolve, reject) => {
      client.once('ready', () => resolve());
      client.once('error', (err) => reject(err));
      client.connect({
        sock,
        username: target.user,
        readyTimeout: SSH_TIMEOUT_MS,
        hostVerifier: (raw: Buffer, verify: (ok: boolean) => void) => {
          verifyHostKey(target, raw, opts).then(
            () => verify(true),
            (err: Error) => {
              refusal = err;
              verify(false);
            },
          );
        },
        authHandler: (_left: AuthenticationType[], _partial: boolean, callback: NextAuthHandler) => {
          // false ends the attempts (ssh2 documents it; its types do not have it).
          const give = (m: AnyAuthMethod | false) => callback(m as AnyAuthMethod);
          next().then(give, (err: Error) => {
            refusal = err;
            give(false);
          });
        },
      });
    });
  } catch (err) {
    client.end();
    sock.destroy();
    if (refusal) throw refusal;
    const message = (err as Error).message;
    if (/authentication methods failed/i.test(message)) {
      throw new BazilError(
        'UNAUTHORIZED',
        `${where} refused every way to log in (the SSH agent, ${target.identityFiles.join(', ')}${opts.terminal ? ', a password' : ''}); check the user and that your key is in its ~/.ssh/authorized_keys (\`ssh ${where}\` should work)`,
      );
    }
    throw new BazilError('UNAVAILABLE', `SSH to ${where} failed: ${message}`);
  }
  return { client, localAddress: sock.localAddress ?? '127.0.0.1', close: () => client.end() };
}

/** Runs a command on the other machine, feeding it stdin (then closing it): nothing of stdin shows on a command line. */
export function exec(session: SshSession, command: string, stdin = ''): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    session.client.exec(command, (err, channel) => {
      if (err) return reject(new BazilError('UNAVAILABLE', `could not run a command over SSH: ${err.message}`));
      let stdout = '';
      let stderr = '';
      let code = 0;
      channel.setEncoding('utf8').on('data', (s: string) => (stdout += s));
      channel.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
      channel.on('exit', (c: number | null) => (code = c ?? 255));
      channel.on('close', () => resolve({ code, stdout, stderr }));
      channel.end(stdin);
    });
  });
}

/** A word for a POSIX shell command line, quoted. */
export const shellQuote = (word: string) => (/^[A-Za-z0-9_./:=@+-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`);
