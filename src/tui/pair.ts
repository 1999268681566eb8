/**
 * Pairing over SSH from the terminal UI. The host key question is asked here,
 * as a dialog: the key the host presents is fetched first and, once accepted,
 * added to known_hosts; then `bazil pair` runs as a child process with no
 * terminal (its own session), which checks that same key again and does the
 * rest. It cannot ask for passwords or passphrases: the SSH agent or a key
 * without a passphrase must do.
 */
import { spawn } from 'node:child_process';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import ssh2 from 'ssh2';
import { addKnownHost, checkHostKey, fingerprint, hostEntryName, keyType, readKnownHosts } from '../bootstrap/known-hosts.js';
import { resolveTarget } from '../bootstrap/ssh-target.js';
import { BazilError } from '../engine/errors.js';

export interface HostKey {
  /** As known_hosts names it: host, or [host]:port. */
  name: string;
  /** What to show: type and fingerprint. */
  print: string;
  status: 'known' | 'unknown' | 'changed' | 'revoked';
  raw: Buffer;
}

/** What the Peers panel needs to pair (a fake in component tests). */
export interface Pairing {
  hostKey(typed: string): Promise<HostKey>;
  trust(key: HostKey): void;
  /** Runs `bazil pair WORDS...`; resolves with what it printed, rejects with why it failed. */
  pair(words: string[]): Promise<string>;
}

const knownHosts = () => join(homedir(), '.ssh', 'known_hosts');

/** The key the host presents, fetched with a connection that goes no further. */
function presentedKey(host: string, port: number, user: string): Promise<Buffer> {
  return new Promise((done, fail) => {
    const client = new ssh2.Client();
    let raw: Buffer | undefined;
    client.on('error', (err) => {
      client.end();
      if (raw) done(raw);
      else fail(new BazilError('UNAVAILABLE', `cannot reach ${user}@${hostEntryName(host, port)}: ${err.message}; is the host up and its sshd listening on port ${port}?`));
    });
    client.connect({
      host,
      port,
      username: user,
      readyTimeout: 20_000,
      hostVerifier: (key: Buffer, verify: (ok: boolean) => void) => {
        raw = key;
        verify(false);
      },
    });
  });
}

export function sshPairing(dataDir: string): Pairing {
  return {
    async hostKey(typed) {
      const target = resolveTarget(typed, homedir());
      const raw = await presentedKey(target.host, target.port, target.user);
      const name = hostEntryName(target.host, target.port);
      return { name, raw, print: `${keyType(raw)} key fingerprint ${fingerprint(raw)}`, status: checkHostKey(readKnownHosts(knownHosts()), name, raw).status };
    },
    trust: (key) => addKnownHost(knownHosts(), key.name, key.raw),
    pair: (words) =>
      new Promise((done, fail) => {
        // detached: a session of its own, so no terminal: nothing is asked, and the screen stays the TUI's.
        const child = spawn(process.execPath, [process.argv[1], `--data-dir=${resolve(dataDir)}`, 'pair', ...words], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
        let out = '';
        child.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
        child.stderr.setEncoding('utf8').on('data', (s: string) => (out += s));
        child.on('close', (code) => (code === 0 ? done(out.trim()) : fail(new BazilError('UNAVAILABLE', out.trim().replace(/^bazil: /, '') || `\`bazil pair\` failed (exit ${code})`))));
      }),
  };
}
