/**
 * The remote stores this data dir knows (`bazil store add`, `volume storage
 * add VOL STORE`), the volumes that fetch content from them, and opening one
 * by its name. A dir: store is known by the id in its identity file, so it
 * stays known while unplugged and is found again at another path.
 */
import { isAbsolute, resolve } from 'node:path';
import type { Db } from '../db/open.js';
import { BazilError } from '../errors.js';
import { getVolume, volumeRowId } from '../tree/volumes.js';
import { DirStore, initDirStore, readDirIdentity } from './dir-store.js';
import type { RemoteStore } from './remote.js';
import { SftpStore, type SshConnect } from './sftp-store.js';

/**
 * How an sftp:// URL is reached (given by the server: host-key checking and
 * authentication are bazil pair's): the store's canonical name, its
 * directory there, and how to connect. yes: accept an unknown host key.
 */
export type SftpOpener = (url: string, options?: { yes?: boolean; say?(line: string): void }) => { name: string; root: string; connect: SshConnect };

export type StoreKind = 'dir' | 'sftp';

export interface StoreRow {
  name: string;
  kind: StoreKind;
  location: string;
  addedAt: number;
  seenAt: number | null;
}

export const STORE_FORMS = 'dir:PATH (a directory, e.g. on an external disk) or sftp://[user@]host[:port]/path';

/** Whether a typed backend names a remote store (rather than a peer or local). */
export const isStoreSpec = (typed: string): boolean => typed.startsWith('dir:') || typed.startsWith('sftp://');

interface Row {
  name: string;
  kind: StoreKind;
  location: string;
  added_at: number;
  seen_at: number | null;
}

const fromRow = (r: Row): StoreRow => ({ name: r.name, kind: r.kind, location: r.location, addedAt: r.added_at, seenAt: r.seen_at });

export function listStores(db: Db): StoreRow[] {
  return (db.prepare('SELECT * FROM stores ORDER BY added_at, name').all() as Row[]).map(fromRow);
}

/** A known store by its name (dir:ID), its id alone or a unique prefix of it, or its location. */
export function findStore(db: Db, typed: string): StoreRow {
  const all = listStores(db);
  const exact = all.find((s) => s.name === typed || s.location === typed || (s.kind === 'dir' && `dir:${s.location}` === typed));
  if (exact) return exact;
  const bare = typed.replace(/^dir:/, '');
  const prefixed = all.filter((s) => s.kind === 'dir' && bare.length >= 4 && s.name.startsWith(`dir:${bare}`));
  if (prefixed.length === 1) return prefixed[0];
  throw new BazilError(
    'NOT_FOUND',
    prefixed.length > 1 ? `"${typed}" names more than one store; type more of its id (see \`bazil store list\`)` : `no store "${typed}" is known here; see \`bazil store list\`, or add one with \`bazil store add\``,
  );
}

/**
 * Adds the store a typed backend names (dir:PATH makes the store's identity
 * file there if it has none), or updates where a known one is. Its row.
 */
export async function addStore(db: Db, typed: string, sftp: SftpOpener, options: { yes?: boolean } = {}, now = Date.now()): Promise<StoreRow> {
  if (typed.startsWith('sftp://')) {
    const at = sftp(typed, options);
    const store = new SftpStore(at.name, at.root, at.connect);
    try {
      await store.init(); // reachable, logged in, and the directories are there
    } finally {
      await store.close();
    }
    db.prepare(
      'INSERT INTO stores (name, kind, location, added_at, seen_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET seen_at = excluded.seen_at',
    ).run(at.name, 'sftp', at.name, now, now);
    return findStore(db, at.name);
  }
  if (typed.startsWith('dir:')) {
    const raw = typed.slice('dir:'.length);
    if (!raw) throw new BazilError('INVALID_ARGUMENT', `"${typed}" names no directory: write ${STORE_FORMS}`);
    const path = isAbsolute(raw) ? raw : resolve(raw);
    const id = await initDirStore(path);
    db.prepare(
      'INSERT INTO stores (name, kind, location, added_at, seen_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET location = excluded.location, seen_at = excluded.seen_at',
    ).run(`dir:${id}`, 'dir', path, now, now);
    return findStore(db, `dir:${id}`);
  }
  throw new BazilError('INVALID_ARGUMENT', `"${typed}" is not a store: write ${STORE_FORMS}`);
}

/** Records that a dir: store is now at PATH (its identity file says so). */
export async function locateStore(db: Db, typed: string, path: string, now = Date.now()): Promise<StoreRow> {
  const store = findStore(db, typed);
  if (store.kind !== 'dir') throw new BazilError('INVALID_ARGUMENT', `store ${store.name} is not a dir: store; only those move`);
  const abs = resolve(path);
  const found = await readDirIdentity(abs);
  if (`dir:${found}` !== store.name) {
    throw new BazilError('NOT_FOUND', `${abs} does not hold store ${store.name} (${found ? `it holds dir:${found}` : 'no store there'}); check the path (is the disk mounted?)`);
  }
  db.prepare('UPDATE stores SET location = ?, seen_at = ? WHERE name = ?').run(abs, now, store.name);
  return findStore(db, store.name);
}

/** Looks for known dir: stores at the given paths (mount points, say): those found are located there. */
export async function scanForStores(db: Db, paths: string[], now = Date.now()): Promise<StoreRow[]> {
  const found: StoreRow[] = [];
  const known = new Set(listStores(db).map((s) => s.name));
  for (const path of paths) {
    const id = await readDirIdentity(resolve(path)).catch(() => undefined);
    if (id && known.has(`dir:${id}`)) found.push(await locateStore(db, `dir:${id}`, path, now));
  }
  return found;
}

export function markSeen(db: Db, name: string, now = Date.now()): void {
  db.prepare('UPDATE stores SET seen_at = ? WHERE name = ?').run(now, name);
}

/** Lets a volume fetch content from the store (adding the store if new). Checks the sharing key as `peerkey:` does. */
export async function addVolumeStore(db: Db, volume: string, sharing: string, typed: string, sftp: SftpOpener): Promise<StoreRow> {
  const v = getVolume(db, volume);
  if (sharing !== v.sharingKey) {
    throw new BazilError('INVALID_ARGUMENT', `volume ${v.name} is encrypted under sharing key "${v.sharingKey}", not "${sharing}"; use -sharing=${v.sharingKey}`);
  }
  const store = await addStore(db, typed, sftp);
  db.prepare('INSERT OR IGNORE INTO volume_stores (volume, store) VALUES (?, ?)').run(volumeRowId(db, v.name), store.name);
  return store;
}

/** The stores a volume fetches content from, in the order added. */
export function volumeStores(db: Db, volumeRowId: number): StoreRow[] {
  return (db.prepare('SELECT s.* FROM volume_stores v JOIN stores s ON s.name = v.store WHERE v.volume = ? ORDER BY s.added_at, s.name').all(volumeRowId) as Row[]).map(fromRow);
}

/** The volumes that fetch content from a store. */
export function storeVolumes(db: Db, name: string): string[] {
  return db.prepare('SELECT v.name FROM volume_stores s JOIN volumes v ON v.id = s.volume WHERE s.store = ? ORDER BY v.name').pluck().all(name) as string[];
}

/** Opens a known store (no I/O yet: an unplugged one fails UNAVAILABLE when used). */
export function openStore(row: StoreRow, sftp: SftpOpener): RemoteStore {
  if (row.kind === 'dir') return new DirStore(row.name.slice('dir:'.length), row.location);
  if (row.kind === 'sftp') {
    const at = sftp(row.location);
    return new SftpStore(row.name, at.root, at.connect);
  }
  throw new BazilError('INVALID_ARGUMENT', `store ${row.name} is of a kind this bazil cannot open (${row.kind})`);
}

/** For messages: dir:1a2b3c4d (at /media/usb) or the URL. */
export const storeLabel = (row: StoreRow): string => (row.kind === 'dir' ? `${row.name.slice(0, 12)} (at ${row.location})` : row.name);
