/**
 * A data dir: everything one Bazil peer owns.
 *
 *   DIR/bazil.db     metadata (SQLite, WAL): identity, sharing keys, volumes, ...
 *   DIR/objects/     the local chunk store, one file per encrypted object
 *   DIR/tmp/         temp files, renamed into objects/ when complete
 *   DIR/lock         held by the one process allowed to write (see lock.ts)
 *
 * The directory is 0700 and the files 0600: the database holds secrets.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { openDb, type Db } from './db/open.js';
import { BazilError, isErrno } from './errors.js';
import { DataDirLock } from './lock.js';
import { identityFromSeed, newSeed, type Identity } from './peer/identity.js';
import { addSharingKey, DEFAULT_SHARING_KEY, sharingKeySecret } from './store/sharing.js';
import { ContentStore } from './store/content.js';
import { getVolume } from './tree/volumes.js';
import { LocalObjectStore } from './store/objects.js';

/** $XDG_DATA_HOME/bazil, else ~/.local/share/bazil. */
export function defaultDataDir(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_DATA_HOME || join(env.HOME || homedir(), '.local', 'share');
  return join(base, 'bazil');
}

const DB_FILE = 'bazil.db';

export function dataDirExists(path: string): boolean {
  return existsSync(join(path, DB_FILE));
}

/** The error for a data dir that is not there: what is there instead, and how to make one. */
export function missingDataDir(path: string): BazilError {
  path = resolve(path);
  const create = path === resolve(defaultDataDir()) ? '`bazil create`' : `\`bazil --data-dir=${path} create\``;
  let what: 'file' | 'dir' | undefined;
  try {
    what = statSync(path).isDirectory() ? 'dir' : 'file';
  } catch {
    // nothing there
  }
  if (what === 'file') return new BazilError('NOT_FOUND', `${path} is a file, not a bazil data dir; point --data-dir at a data dir`);
  if (what === 'dir') return new BazilError('NOT_FOUND', `${path} is not a bazil data dir (it has no ${DB_FILE}); point --data-dir at a data dir, or make one in a new or empty directory with ${create}`);
  return new BazilError('NOT_FOUND', `no bazil data dir at ${path}; create one with ${create} (or point --data-dir at an existing one)`);
}

/** A system error while making a data dir, in words that say what to do. */
function cannotCreate(path: string, err: unknown): unknown {
  const code = (err as NodeJS.ErrnoException).code;
  const pick = 'pick another path with --data-dir';
  if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') {
    return new BazilError('UNAUTHORIZED', `cannot create a data dir at ${path}: ${dirname(path)} is not writable (${code}); ${pick}`, { cause: err });
  }
  if (code === 'ENOTDIR') return new BazilError('INVALID_ARGUMENT', `cannot create a data dir at ${path}: part of that path is a file, not a directory; ${pick}`, { cause: err });
  if (code === 'ENOENT') return new BazilError('INVALID_ARGUMENT', `cannot create a data dir at ${path}: ${dirname(path)} cannot hold one; ${pick}`, { cause: err });
  return err;
}

/**
 * Makes a new data dir: identity, database, a random `default` sharing key.
 * It is built beside the target and renamed into place, so a data dir is either
 * complete or absent. An existing non-empty directory is never touched.
 */
export function createDataDir(path: string): { publicKey: Buffer } {
  path = resolve(path);
  refuseExisting(path);
  let staging: string;
  try {
    mkdirSync(dirname(path), { recursive: true });
    staging = mkdtempSync(join(dirname(path), '.bazil-create-'));
  } catch (err) {
    throw cannotCreate(path, err);
  }
  try {
    mkdirSync(join(staging, 'objects'), { mode: 0o700 });
    mkdirSync(join(staging, 'tmp'), { mode: 0o700 });
    writeFileSync(join(staging, DB_FILE), '', { mode: 0o600, flag: 'wx' }); // SQLite keeps this mode for -wal/-shm too
    const seed = newSeed();
    const { publicKey } = identityFromSeed(seed);
    const db = openDb(join(staging, DB_FILE), { create: true });
    try {
      db.transaction(() => {
        db.prepare('INSERT INTO identity (id, seed, public_key) VALUES (1, ?, ?)').run(seed, publicKey);
        addSharingKey(db, DEFAULT_SHARING_KEY, randomBytes(32));
      })();
    } finally {
      db.close(); // the last connection's close folds the WAL in, before the move
    }
    try {
      renameSync(staging, path); // replaces an empty directory, fails on a non-empty one
    } catch (err) {
      if (isErrno(err, 'ENOTEMPTY') || isErrno(err, 'EEXIST')) refuseExisting(path);
      throw err;
    }
    return { publicKey };
  } catch (err) {
    rmSync(staging, { recursive: true, force: true });
    throw err;
  }
}

function refuseExisting(path: string): void {
  let isDir: boolean;
  try {
    isDir = statSync(path).isDirectory();
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return;
    throw cannotCreate(path, err);
  }
  if (!isDir) {
    throw new BazilError('ALREADY_EXISTS', `${path} is a file; bazil create makes a data dir in a new or empty directory: pick another path with --data-dir`);
  }
  if (readdirSync(path).length > 0) {
    throw new BazilError(
      'ALREADY_EXISTS',
      `${path} already exists${dataDirExists(path) ? ' and is a bazil data dir' : ' and is not empty'}; ` +
        'bazil create never touches an existing directory: use it as it is, or pick another with --data-dir',
    );
  }
}

/**
 * Temp files are written only by the lock holder, so any found by a new holder
 * were left by a writer that died mid-write: nothing refers to them.
 */
function removeStaleTemps(tmp: string): void {
  for (const name of readdirSync(tmp)) rmSync(join(tmp, name), { recursive: true, force: true });
}

/**
 * An open data dir. Opened for writing, it holds the data dir's lock until
 * closed, so two processes never write the same data dir at once.
 */
export class DataDir {
  readonly path: string;
  readonly db: Db;
  private readonly lock?: DataDirLock;
  private objectStore?: LocalObjectStore;

  private constructor(path: string, db: Db, lock?: DataDirLock) {
    this.path = path;
    this.db = db;
    this.lock = lock;
  }

  static open(path: string, options: { write: boolean }): DataDir {
    path = resolve(path);
    if (!dataDirExists(path)) throw missingDataDir(path);
    const lock = options.write ? DataDirLock.acquire(path) : undefined;
    try {
      if (lock) removeStaleTemps(join(path, 'tmp'));
      return new DataDir(path, openDb(join(path, DB_FILE)), lock);
    } catch (err) {
      lock?.release();
      throw err;
    }
  }

  publicKey(): Buffer {
    const row = this.db.prepare('SELECT public_key FROM identity WHERE id = 1').get() as { public_key: Buffer } | undefined;
    if (!row) throw new BazilError('CORRUPT', `the database in ${this.path} has no identity`);
    return row.public_key;
  }

  /** This data dir's identity, with its signing key: for the peer handshake only. */
  identity(): Identity {
    const row = this.db.prepare('SELECT seed FROM identity WHERE id = 1').get() as { seed: Buffer } | undefined;
    if (!row) throw new BazilError('CORRUPT', `the database in ${this.path} has no identity`);
    return identityFromSeed(row.seed);
  }

  /** The local chunk store (the `local` storage). */
  objects(): LocalObjectStore {
    this.objectStore ??= new LocalObjectStore(join(this.path, 'objects'), join(this.path, 'tmp'));
    return this.objectStore;
  }

  /** The content store of a volume: the local objects, under the volume's sharing key. */
  volumeContent(volume: string): ContentStore {
    return new ContentStore(this.objects(), sharingKeySecret(this.db, getVolume(this.db, volume).sharingKey));
  }

  close(): void {
    this.db.close();
    this.lock?.release();
  }
}
