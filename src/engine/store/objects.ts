/**
 * Where encrypted objects live. An ObjectStore knows nothing of keys or content:
 * it stores opaque bytes under an id. The local store is a fan-out directory of
 * one file per object; later kinds (a peer, an external disk) implement the same
 * interface.
 */
import { mkdir, open, readFile, rename, stat, unlink, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { BazilError, isErrno } from '../errors.js';

export interface ObjectStore {
  /** True when the object is present (its bytes are not checked here). */
  has(id: Uint8Array): Promise<boolean>;
  /**
   * Stores an object. `bytes` is called only when the object is absent, so a
   * duplicate costs no encryption and no write. False when it was already there.
   * A `fetched` object is a verified copy of one held elsewhere: it is not
   * made durable (a crash may lose it; it can be fetched again).
   */
  put(id: Uint8Array, bytes: () => Promise<Buffer[]>, options?: PutOptions): Promise<boolean>;
  /** The object's bytes; NOT_FOUND when absent. */
  get(id: Uint8Array): Promise<Buffer>;
  /** Deletes an object, if this store can (absent is fine). */
  remove?(id: Uint8Array): Promise<void>;
  /** Notes a use of an object read earlier (kept in memory by the reader). */
  touch?(id: Uint8Array): void;
  /** Makes every put that has returned durable (survives a crash). */
  flush(): Promise<void>;
  /**
   * Marks a write under way: until the returned function is called, garbage
   * collection spares every object put since it began (engine/cache/gc.ts).
   */
  hold?(): () => void;
}

export interface PutOptions {
  fetched?: boolean;
}

/** Told of what happens in a local store: the cache's accounting (engine/cache). */
export interface ObjectStoreWatcher {
  /** An object was stored; the put returns once this settles (the cache may evict to make room). */
  added(id: Buffer, size: number, fetched: boolean): Promise<void> | void;
  /** An object was read. */
  used(id: Buffer): void;
}

/**
 * Objects as files: DIR/ab/cdef... (hex id, 256 fan-out directories). A put writes
 * a temp file, fsyncs it and renames it into place, so an object file is either
 * absent or complete. Directory entries are fsync'd in flush(), once per batch
 * rather than once per object. Fetched objects skip both fsyncs: after a crash
 * one is absent or complete-but-unsynced, and every read verifies it anyway.
 */
export class LocalObjectStore implements ObjectStore {
  readonly dir: string;
  private readonly tmpDir: string;
  private readonly madeDirs = new Set<string>();
  private readonly dirtyDirs = new Set<string>();
  /** Set once by the server's cache; none in tools that open a data dir briefly. */
  watcher?: ObjectStoreWatcher;
  /** Start times of the writes under way (hold()). */
  private readonly holds = new Set<{ at: number }>();
  /** While a collection runs: the objects put or read since it began (hex ids). */
  private touched?: Set<string>;
  /** Objects a collection is removing: a put of one waits, then writes it anew. */
  private readonly removing = new Map<string, Promise<void>>();

  constructor(dir: string, tmpDir: string) {
    this.dir = dir;
    this.tmpDir = tmpDir;
  }

  pathOf(id: Uint8Array): string {
    const hex = Buffer.from(id).toString('hex');
    return join(this.dir, hex.slice(0, 2), hex.slice(2));
  }

  async has(id: Uint8Array): Promise<boolean> {
    try {
      await stat(this.pathOf(id));
      return true;
    } catch (err) {
      if (isErrno(err, 'ENOENT')) return false;
      throw err;
    }
  }

  async put(id: Uint8Array, bytes: () => Promise<Buffer[]>, options: PutOptions = {}): Promise<boolean> {
    const fetched = options.fetched === true;
    const path = this.pathOf(id);
    const hex = Buffer.from(id).toString('hex');
    await this.removing.get(hex);
    this.touched?.add(hex);
    if (await this.has(id)) {
      // A duplicate is a new use: its time says so, for a collection that starts later (see hold()).
      const now = new Date();
      await utimes(path, now, now).catch(() => {});
      return false;
    }
    const fanout = join(path, '..');
    if (!this.madeDirs.has(fanout)) {
      await mkdir(fanout, { recursive: true, mode: 0o700 });
      this.madeDirs.add(fanout);
    }
    const pieces = await bytes();
    const tmp = join(this.tmpDir, `obj-${randomBytes(8).toString('hex')}`);
    const fh = await open(tmp, 'wx', 0o600);
    try {
      const want = pieces.reduce((n, p) => n + p.length, 0);
      const { bytesWritten } = await fh.writev(pieces);
      if (bytesWritten !== want) throw new Error(`short write to ${tmp}: ${bytesWritten} of ${want} bytes`);
      if (!fetched) await fh.sync();
    } catch (err) {
      await fh.close();
      await unlink(tmp).catch(() => {});
      throw err;
    }
    await fh.close();
    // rename over an existing object is harmless: the same id means the same bytes.
    await rename(tmp, path);
    if (!fetched) this.dirtyDirs.add(fanout);
    await this.watcher?.added(Buffer.from(id), pieces.reduce((n, p) => n + p.length, 0), fetched);
    return true;
  }

  async get(id: Uint8Array): Promise<Buffer> {
    this.touched?.add(Buffer.from(id).toString('hex'));
    try {
      const bytes = await readFile(this.pathOf(id));
      this.watcher?.used(Buffer.from(id));
      return bytes;
    } catch (err) {
      if (isErrno(err, 'ENOENT')) {
        throw new BazilError('NOT_FOUND', `object ${Buffer.from(id).toString('hex')} is missing from the local store`);
      }
      throw err;
    }
  }

  touch(id: Uint8Array): void {
    this.watcher?.used(Buffer.from(id));
  }

  /** Deletes an object (the cache evicting it); absent is fine. */
  async remove(id: Uint8Array): Promise<void> {
    await unlink(this.pathOf(id)).catch((err) => {
      if (!isErrno(err, 'ENOENT')) throw err;
    });
  }

  hold(): () => void {
    const h = { at: Date.now() };
    this.holds.add(h);
    return () => this.holds.delete(h);
  }

  /** When the oldest write under way began (ms), if one is. */
  oldestHold(): number | undefined {
    let oldest: number | undefined;
    for (const h of this.holds) oldest = Math.min(oldest ?? h.at, h.at);
    return oldest;
  }

  /**
   * Begins a collection: from now on, the objects put or read are noted, and
   * collect() spares them. Returns the function that ends it.
   */
  beginCollection(): () => void {
    if (this.touched) throw new BazilError('LOCKED', 'a garbage collection is already running; wait for it to finish');
    const touched = new Set<string>();
    this.touched = touched;
    return () => {
      if (this.touched === touched) this.touched = undefined;
    };
  }

  /**
   * Removes an object for a collection, unless it was put or read since the
   * collection began. The check and the start of the removal are one step (no
   * await between them), and a put of the same id waits for the removal to
   * end, then writes the object anew: a writer never counts on a copy that is
   * going away. False when spared.
   */
  async collect(id: Uint8Array): Promise<boolean> {
    const hex = Buffer.from(id).toString('hex');
    if (!this.touched || this.touched.has(hex) || this.removing.has(hex)) return false;
    const removal = this.remove(id);
    this.removing.set(hex, removal.catch(() => {}));
    try {
      await removal;
    } finally {
      this.removing.delete(hex);
    }
    return true;
  }

  async flush(): Promise<void> {
    const dirs = [...this.dirtyDirs];
    this.dirtyDirs.clear();
    await Promise.all(dirs.map(fsyncDir));
  }
}

async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
