/**
 * Peers and grants: the other data dirs this one knows, where their servers
 * listen, and what each may ask of this one (read the local store, sync a
 * volume). Also, per volume, which peers its content may be fetched from and
 * which peers it syncs with. A peer is its public key (people see it as 64 hex
 * characters) and may have a name; wherever a peer is asked for, its name, its
 * full key or a unique prefix of its key will do (resolvePeer).
 */
import { isIPv4, isIPv6 } from 'node:net';
import type { PeerInfo } from '../control/api.js';
import type { Db } from '../db/open.js';
import { BazilError } from '../errors.js';
import { getVolume, volumeRowId } from '../tree/volumes.js';

/** The storage backends a peer may be allowed to read. Only the local store exists for now. */
const STORAGE_BACKENDS = ['local'];
const PEERKEY = 'peerkey:';

const hex = (key: Buffer) => key.toString('hex');

/** At most this much of a bad argument is echoed back in a message. */
function shown(text: string): string {
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/** A public key as typed: exactly 64 hex characters (surrounding white space is ignored). */
export function parsePublicKey(text: string): Buffer {
  const t = text.trim();
  if (!/^[0-9a-fA-F]{64}$/.test(t)) {
    const why = /^[0-9a-fA-F]*$/.test(t) ? `it has ${t.length} characters` : 'it has characters other than 0-9 and a-f';
    throw new BazilError(
      'INVALID_ARGUMENT',
      `"${shown(text)}" is not a public key (${why}): a public key is 64 hex characters; ` +
        'get the other machine\'s by running `bazil debug pubkey` there',
    );
  }
  return Buffer.from(t, 'hex');
}

function ownKey(db: Db): Buffer | undefined {
  const row = db.prepare('SELECT public_key FROM identity WHERE id = 1').get() as { public_key: Buffer } | undefined;
  return row?.public_key;
}

export function isPeer(db: Db, key: Buffer): boolean {
  return db.prepare('SELECT 1 FROM peers WHERE public_key = ?').get(key) !== undefined;
}

/** NOT_FOUND, saying how to add it, unless the peer is known. */
function knownPeer(db: Db, key: Buffer): void {
  if (!isPeer(db, key)) {
    throw new BazilError('NOT_FOUND', `no peer with public key ${hex(key)}; add it first with \`bazil peer add ${hex(key)}\` (see \`bazil peer list\`)`);
  }
}

const NAME_HELP = 'a peer name is 1 to 32 letters, digits, ".", "_" or "-", starting with a letter or digit, e.g. white or laptop-2';
const PEER_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$/;

/** A peer name as typed, checked: it also ends up in file names (NAME.conflict-PEER.EXT). */
export function parsePeerName(text: string): string {
  const t = text.trim();
  if (!PEER_NAME.test(t)) throw new BazilError('INVALID_ARGUMENT', `"${shown(text)}" is not a peer name: ${NAME_HELP}`);
  if (/^[0-9a-fA-F]{64}$/.test(t)) throw new BazilError('INVALID_ARGUMENT', `"${shown(text)}" looks like a public key, not a name: ${NAME_HELP}`);
  return t;
}

function nameTaken(db: Db, name: string, except?: Buffer): Buffer | undefined {
  const holder = db.prepare('SELECT public_key FROM peers WHERE name = ?').pluck().get(name) as Buffer | undefined;
  return holder && !(except && holder.equals(except)) ? holder : undefined;
}

function checkNameFree(db: Db, name: string, key: Buffer): void {
  const holder = nameTaken(db, name, key);
  if (holder) {
    throw new BazilError('ALREADY_EXISTS', `peer ${hex(holder)} is already named ${name}; choose another name, or rename that one first with \`bazil peer rename ${name} NEWNAME\``);
  }
}

/**
 * A name for a new peer made from a machine's host name: its first label,
 * reduced to the characters a name may have, then made unique here with -2, -3...
 */
export function uniquePeerName(db: Db, hostname: string, key?: Buffer): string {
  const base =
    hostname
      .split('.')[0]
      .replace(/[^A-Za-z0-9._-]/g, '-')
      .replace(/^[^A-Za-z0-9]+/, '')
      .slice(0, 28) || 'peer';
  for (let n = 1; ; n++) {
    const name = n === 1 ? base : `${base}-${n}`;
    if (!nameTaken(db, name, key)) return name;
  }
}

/** The peer's name, or undefined when it has none (or is not known). */
export function peerName(db: Db, key: Buffer): string | undefined {
  return (db.prepare('SELECT name FROM peers WHERE public_key = ?').pluck().get(key) as string | null | undefined) ?? undefined;
}

/** How a peer is shown in a message or a log line: its name, else the first 16 hex characters of its key. */
export function peerLabel(db: Db, key: Buffer): string {
  return peerName(db, key) ?? hex(key).slice(0, 16);
}

/**
 * The peer a person means: a peer's name, a full key (known or not: the
 * caller says what is missing), or a prefix of a known peer's key matching
 * exactly one. A name wins over a key prefix.
 */
export function resolvePeer(db: Db, text: string): Buffer {
  const t = text.trim();
  const named = db.prepare('SELECT public_key FROM peers WHERE name = ?').pluck().get(t) as Buffer | undefined;
  if (named) return named;
  if (/^[0-9a-fA-F]{64}$/.test(t)) return Buffer.from(t, 'hex');
  if (t !== '' && /^[0-9a-fA-F]+$/.test(t)) {
    const all = db.prepare('SELECT public_key FROM peers ORDER BY added_at, public_key').pluck().all() as Buffer[];
    const matches = all.filter((k) => hex(k).startsWith(t.toLowerCase()));
    if (matches.length === 1) return matches[0];
    if (matches.length > 1) {
      throw new BazilError(
        'INVALID_ARGUMENT',
        `"${t}" is the start of ${matches.length} peers' keys (${matches.map((k) => hex(k).slice(0, 16)).join(', ')}); type more of the key, or use the peer's name (\`bazil peer list\`)`,
      );
    }
  }
  // Matches nothing: say also why it is not a key (a key mistyped is the usual case).
  let why = '';
  try {
    parsePublicKey(t);
  } catch (err) {
    why = (err as Error).message;
  }
  throw new BazilError('INVALID_ARGUMENT', `no peer is named "${shown(t)}" or has a key starting so, and ${why}; \`bazil peer list\` shows the known peers`);
}

/** Names a peer, or takes its name away (name null). */
export function renamePeer(db: Db, key: Buffer, name: string | null): void {
  const checked = name === null ? null : parsePeerName(name);
  db.transaction(() => {
    knownPeer(db, key);
    if (checked !== null) checkNameFree(db, checked, key);
    db.prepare('UPDATE peers SET name = ? WHERE public_key = ?').run(checked, key);
  })();
}

export function addPeer(db: Db, key: Buffer, name?: string): void {
  if (key.length !== 32) throw new BazilError('INVALID_ARGUMENT', `a public key is 32 bytes, got ${key.length}`);
  const checked = name === undefined ? null : parsePeerName(name);
  db.transaction(() => {
    const own = ownKey(db);
    if (own && own.equals(key)) {
      throw new BazilError(
        'INVALID_ARGUMENT',
        `${hex(key)} is this data dir's own public key; a peer is another data dir: run \`bazil debug pubkey\` on the other machine for its key`,
      );
    }
    if (isPeer(db, key)) throw new BazilError('ALREADY_EXISTS', `peer ${hex(key)} is already known; see \`bazil peer list\``);
    if (checked !== null) checkNameFree(db, checked, key);
    db.prepare('INSERT INTO peers (public_key, name, location, added_at) VALUES (?, ?, NULL, ?)').run(key, checked, Date.now());
  })();
}

/**
 * Forgets a peer: its location, its grants, and every volume's use of it
 * (content sources, sync partners). Version vectors and conflicts that name it
 * stay: they record history, not trust. The server also closes its open
 * connections; requests on one still open are refused, grants being checked
 * on each.
 */
export function removePeer(db: Db, key: Buffer): void {
  db.transaction(() => {
    knownPeer(db, key);
    db.prepare('DELETE FROM peers WHERE public_key = ?').run(key); // the grants and uses go with it (ON DELETE CASCADE)
  })();
}

export function listPeers(db: Db): PeerInfo[] {
  const peers = db.prepare('SELECT public_key, name, location FROM peers ORDER BY added_at, public_key').all() as {
    public_key: Buffer;
    name: string | null;
    location: string | null;
  }[];
  const storage = db.prepare('SELECT backend FROM peer_storage WHERE peer = ? ORDER BY backend').pluck();
  const volumes = db
    .prepare('SELECT v.name FROM peer_volumes p JOIN volumes v ON v.id = p.volume WHERE p.peer = ? ORDER BY v.name')
    .pluck();
  return peers.map((p) => ({
    publicKey: hex(p.public_key),
    name: p.name,
    location: p.location,
    storage: storage.all(p.public_key) as string[],
    volumes: volumes.all(p.public_key) as string[],
  }));
}

const LOCATION_HELP = 'write HOST:PORT, the address and port the peer\'s `bazil server run` printed, e.g. 192.0.2.7:34211, white.local:34211 or [2001:db8::7]:34211';

/** A hostname: dot-separated labels of letters, digits, '-' and '_' (an IPv4 address is one too). */
const HOSTNAME = /^(?=.{1,253}$)[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,62})(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,62}))*\.?$/;

/** Parses and checks a peer location: HOST:PORT, port 1..65535, host a name, an IPv4 address or a bracketed IPv6 address. */
function parseLocation(text: string): { host: string; port: number } {
  const bad = (why: string) => new BazilError('INVALID_ARGUMENT', `"${shown(text)}" is not a peer location (${why}): ${LOCATION_HELP}`);
  const colon = text.lastIndexOf(':');
  if (colon < 0) throw bad('no port');
  const hostPart = text.slice(0, colon);
  const portPart = text.slice(colon + 1);
  if (portPart === '') throw bad('no port');
  if (!/^\d{1,5}$/.test(portPart)) throw bad(`the port "${shown(portPart)}" is not a number`);
  const port = Number(portPart);
  if (port < 1 || port > 65535) throw bad(`the port must be 1 to 65535, got ${portPart}`);
  if (hostPart === '') throw bad('no host');
  let host: string;
  if (hostPart.startsWith('[')) {
    if (!hostPart.endsWith(']') || !isIPv6(hostPart.slice(1, -1))) throw bad(`${shown(hostPart)} is not a bracketed IPv6 address`);
    host = hostPart.slice(1, -1);
  } else if (hostPart.includes(':')) {
    throw bad('an IPv6 address goes in brackets, e.g. [::1]:34211');
  } else if (/^[\d.]+$/.test(hostPart)) {
    if (!isIPv4(hostPart)) throw bad(`${shown(hostPart)} is not an IPv4 address`);
    host = hostPart;
  } else {
    if (!HOSTNAME.test(hostPart)) throw bad(`"${shown(hostPart)}" is not a host name`);
    host = hostPart;
  }
  return { host, port };
}

const formatLocation = ({ host, port }: { host: string; port: number }) => (host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`);

export function setPeerLocation(db: Db, key: Buffer, location: string): void {
  const text = formatLocation(parseLocation(location));
  db.transaction(() => {
    knownPeer(db, key);
    db.prepare('UPDATE peers SET location = ? WHERE public_key = ?').run(text, key);
  })();
}

/** Where the peer's server listens, or undefined when unknown (or the peer is not known). */
export function peerLocation(db: Db, key: Buffer): { host: string; port: number } | undefined {
  const row = db.prepare('SELECT location FROM peers WHERE public_key = ?').get(key) as { location: string | null } | undefined;
  if (!row?.location) return undefined;
  try {
    return parseLocation(row.location);
  } catch {
    return undefined; // only ever written checked; a hand-edited database gets no location rather than a crash
  }
}

function checkBackend(key: Buffer, backend: string, verb: 'allow' | 'deny'): void {
  if (!STORAGE_BACKENDS.includes(backend)) {
    throw new BazilError(
      'INVALID_ARGUMENT',
      `"${shown(backend)}" is not a storage backend; the only one is "local" (this data dir's store): \`bazil peer storage ${verb} ${hex(key)} local\``,
    );
  }
}

export function allowStorage(db: Db, key: Buffer, backend: string): void {
  checkBackend(key, backend, 'allow');
  db.transaction(() => {
    knownPeer(db, key);
    db.prepare('INSERT OR IGNORE INTO peer_storage (peer, backend) VALUES (?, ?)').run(key, backend);
  })();
}

/** Takes back a storage grant; NOT_FOUND, saying so, when the peer did not have it. */
export function denyStorage(db: Db, key: Buffer, backend: string): void {
  checkBackend(key, backend, 'deny');
  db.transaction(() => {
    knownPeer(db, key);
    const { changes } = db.prepare('DELETE FROM peer_storage WHERE peer = ? AND backend = ?').run(key, backend);
    if (changes === 0) {
      throw new BazilError('NOT_FOUND', `peer ${hex(key)} has no grant to read the ${backend} store, so there is nothing to deny; \`bazil peer list\` shows its grants`);
    }
  })();
}

export function mayReadStorage(db: Db, key: Buffer): boolean {
  return db.prepare("SELECT 1 FROM peer_storage WHERE peer = ? AND backend = 'local'").get(key) !== undefined;
}

export function allowVolume(db: Db, key: Buffer, volumeName: string): void {
  db.transaction(() => {
    knownPeer(db, key);
    const volume = volumeRowId(db, volumeName); // NOT_FOUND, saying how to list or create volumes
    db.prepare('INSERT OR IGNORE INTO peer_volumes (peer, volume) VALUES (?, ?)').run(key, volume);
  })();
}

/** Takes back a volume grant; NOT_FOUND, saying so, when the peer did not have it. */
export function denyVolume(db: Db, key: Buffer, volumeName: string): void {
  db.transaction(() => {
    knownPeer(db, key);
    const volume = volumeRowId(db, volumeName);
    const { changes } = db.prepare('DELETE FROM peer_volumes WHERE peer = ? AND volume = ?').run(key, volume);
    if (changes === 0) {
      throw new BazilError('NOT_FOUND', `peer ${hex(key)} has no grant to sync volume ${volumeName}, so there is nothing to deny; \`bazil peer list\` shows its grants`);
    }
  })();
}

export function mayUseVolume(db: Db, key: Buffer, volumeRowId: number): boolean {
  return db.prepare('SELECT 1 FROM peer_volumes WHERE peer = ? AND volume = ?').get(key, volumeRowId) !== undefined;
}

/**
 * Lets a volume fetch content it lacks from a peer's store. `backend` is
 * peerkey:HEX, or local (always used, so accepted and nothing is stored).
 * `sharing` must name the volume's own sharing key: a peer's store holds
 * content encrypted under it.
 */
export function addVolumeStorage(db: Db, volumeName: string, sharing: string, backend: string): void {
  db.transaction(() => {
    const volume = getVolume(db, volumeName);
    if (sharing !== volume.sharingKey) {
      throw new BazilError(
        'INVALID_ARGUMENT',
        `volume ${volume.name} is encrypted under sharing key "${volume.sharingKey}", not "${shown(sharing)}"; use -sharing=${volume.sharingKey}`,
      );
    }
    if (backend === 'local') return;
    if (!backend.startsWith(PEERKEY)) {
      throw new BazilError(
        'INVALID_ARGUMENT',
        `"${shown(backend)}" is not a storage backend: write peerkey:PUBKEY (a peer's public key, e.g. peerkey:$WHITE), or local`,
      );
    }
    const key = resolvePeer(db, backend.slice(PEERKEY.length));
    knownPeer(db, key);
    db.prepare('INSERT OR IGNORE INTO volume_storage (volume, peer) VALUES (?, ?)').run(volumeRowId(db, volume.name), key);
  })();
}

/** The peers whose stores a volume may fetch content from, in the order they were added as peers. */
export function volumeStoragePeers(db: Db, volumeRowId: number): Buffer[] {
  return db
    .prepare('SELECT s.peer FROM volume_storage s JOIN peers p ON p.public_key = s.peer WHERE s.volume = ? ORDER BY p.added_at, s.peer')
    .pluck()
    .all(volumeRowId) as Buffer[];
}

/** Every peer some volume fetches content from. */
export function allStoragePeers(db: Db): Buffer[] {
  return db.prepare('SELECT DISTINCT peer FROM volume_storage').pluck().all() as Buffer[];
}

/** Whether the volume was connected from the peer (`bazil volume connect`): it syncs from there. */
export function isVolumePeer(db: Db, volumeRowId: number, key: Buffer): boolean {
  return db.prepare('SELECT 1 FROM volume_peers WHERE volume = ? AND peer = ?').get(volumeRowId, key) !== undefined;
}

/** Peers granted the volume (`bazil peer volume allow`): those that may pull it from us. */
export function volumeGrantees(db: Db, volumeRowId: number): Buffer[] {
  return db.prepare('SELECT peer FROM peer_volumes WHERE volume = ?').pluck().all(volumeRowId) as Buffer[];
}

export function addVolumePeer(db: Db, volumeRowId: number, key: Buffer): void {
  db.transaction(() => {
    knownPeer(db, key);
    if (!db.prepare('SELECT 1 FROM volumes WHERE id = ?').get(volumeRowId)) throw new BazilError('NOT_FOUND', `no volume with id ${volumeRowId}`);
    db.prepare('INSERT OR IGNORE INTO volume_peers (volume, peer) VALUES (?, ?)').run(volumeRowId, key);
  })();
}

/** Peers with a location that hold a grant for the volume or that it was connected from; each once. */
export function volumeSyncPeers(db: Db, volumeRowId: number): Buffer[] {
  return db
    .prepare(
      `SELECT p.public_key FROM peers p
       WHERE p.location IS NOT NULL
         AND (EXISTS (SELECT 1 FROM peer_volumes g WHERE g.peer = p.public_key AND g.volume = ?)
           OR EXISTS (SELECT 1 FROM volume_peers c WHERE c.peer = p.public_key AND c.volume = ?))
       ORDER BY p.added_at, p.public_key`,
    )
    .pluck()
    .all(volumeRowId, volumeRowId) as Buffer[];
}
