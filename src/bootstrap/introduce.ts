/**
 * The introduction `bazil pair` makes on each side, through the control API:
 * the other side as a peer (named after its host name), where its server
 * listens, and the grants. Each step is done only when missing, so running it
 * again finishes what an interrupted run left, and changes nothing after a
 * complete one. Returns what it did, in words.
 */
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import type { ControlApi, ServerInfo } from '../engine/control/api.js';
import { BazilError } from '../engine/errors.js';

export interface Introduction {
  /** The other side's key, 64 hex characters. */
  key: string;
  /** Its host name: a new peer is named after it. */
  hostname: string;
  /** HOST:PORT where this side reaches its server. */
  location: string;
  /** Volumes to grant it. */
  volumes: string[];
}

export async function introduce(api: ControlApi, peer: Introduction): Promise<{ name: string; did: string[] }> {
  const did: string[] = [];
  let known = (await api.call('peer.list', {})).find((p) => p.publicKey === peer.key);
  if (!known) {
    const added = await api.call('peer.add', { key: peer.key, hostname: peer.hostname });
    did.push(`added peer ${added.name ?? added.key}`);
    known = (await api.call('peer.list', {})).find((p) => p.publicKey === peer.key)!;
  }
  const name = known.name ?? known.publicKey.slice(0, 16);
  if (known.location !== peer.location) {
    await api.call('peer.location.set', { key: peer.key, location: peer.location });
    did.push(`set ${name}'s location to ${peer.location}`);
  }
  if (!known.storage.includes('local')) {
    await api.call('peer.storage.allow', { key: peer.key, backend: 'local' });
    did.push(`let ${name} read the local store`);
  }
  for (const volume of peer.volumes) {
    if (known.volumes.includes(volume)) continue;
    await api.call('peer.volume.allow', { key: peer.key, volume });
    did.push(`let ${name} sync ${volume}`);
  }
  return { name, did };
}

/** HOST:PORT from a host and the port of an address a server printed ([::]:34211, 127.0.0.1:5000). */
export function locationOf(host: string, listening: string): string {
  const port = listening.slice(listening.lastIndexOf(':') + 1);
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** What answers for the data dir's server: its info, or undefined when none runs. */
export type ServerProbe = (dataDir: string) => Promise<ServerInfo | undefined>;

/** The data dir's server, started (`bazil server start`, by this same bazil) when none runs. */
export async function ensureServer(dataDir: string, serverInfo: ServerProbe): Promise<{ info: ServerInfo; started: boolean }> {
  const running = await serverInfo(dataDir).catch(() => undefined);
  if (running) return { info: running, started: false };
  const out = await new Promise<{ code: number; text: string }>((done) => {
    const child = spawn(process.execPath, [process.argv[1], `--data-dir=${resolve(dataDir)}`, 'server', 'start'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (text += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (text += s));
    child.on('close', (code) => done({ code: code ?? 1, text }));
  });
  const info = await serverInfo(dataDir).catch(() => undefined);
  if (!info) throw new BazilError('UNAVAILABLE', `could not start the bazil server for ${resolve(dataDir)}: ${out.text.trim() || `exit ${out.code}`}`);
  return { info, started: true };
}
