/**
 * `dir:PATH`: a store in a directory (an external disk, a network mount).
 * Objects are files as in the local store (objects/ab/cdef..., written to
 * tmp/, fsync'd, renamed into place: an object is absent or whole). An
 * identity file at the root names the store by a random id, so the store is
 * known while unplugged and found again at another path (`bazil store
 * locate`); a path whose identity file is missing or names another store is
 * not this store: UNAVAILABLE, never an empty store.
 */
import { mkdir, open, readdir, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { BazilError, isBazilError, isErrno } from '../errors.js';
import { isObjectHex, MAX_OBJECT_BYTES, objectHex, STORE_TIMEOUT_MS, tooBig, withTimeout, type RemoteStore } from './remote.js';

export const DIR_IDENTITY = 'bazil-store.json';

interface Identity {
  bazilStore: 1;
  id: string;
}

/** The id of the store at PATH, or undefined when PATH holds no store (or is not there). */
export async function readDirIdentity(path: string): Promise<string | undefined> {
  let text: string;
  try {
    text = await readFile(join(path, DIR_IDENTITY), 'utf8');
  } catch (err) {
    if (isErrno(err, 'ENOENT') || isErrno(err, 'ENOTDIR')) return undefined;
    throw new BazilError('UNAVAILABLE', `cannot read ${join(path, DIR_IDENTITY)}: ${(err as Error).message}`);
  }
  let parsed: Partial<Identity> = {};
  try {
    parsed = JSON.parse(text) as Partial<Identity>;
  } catch {
    // not JSON: refused below as not an identity
  }
  if (parsed?.bazilStore !== 1 || typeof parsed.id !== 'string' || !/^[0-9a-f]{32}$/.test(parsed.id)) {
    throw new BazilError('CORRUPT', `${join(path, DIR_IDENTITY)} is not a bazil store identity; move it away if that directory is not a store`);
  }
  return parsed.id;
}

/** The store at PATH, made there when PATH is an existing directory without one: its id. */
export async function initDirStore(path: string): Promise<string> {
  const known = await readDirIdentity(path);
  if (known) return known;
  const st = await stat(path).catch(() => undefined);
  if (!st?.isDirectory()) throw new BazilError('NOT_FOUND', `${path} is not a directory; plug the disk in (or mkdir it) and try again`);
  const id = randomBytes(16).toString('hex');
  await mkdir(join(path, 'objects'), { recursive: true, mode: 0o700 });
  await mkdir(join(path, 'tmp'), { recursive: true, mode: 0o700 });
  const tmp = join(path, `tmp/identity-${id}`);
  await writeFile(tmp, JSON.stringify({ bazilStore: 1, id } satisfies Identity) + '\n', { mode: 0o600, flush: true });
  await rename(tmp, join(path, DIR_IDENTITY));
  return id;
}

export class DirStore implements RemoteStore {
  readonly name: string;

  constructor(
    readonly id: string,
    readonly path: string,
    private readonly timeoutMs = STORE_TIMEOUT_MS,
  ) {
    this.name = `dir:${id}`;
  }

  private pathOf(id: Uint8Array): string {
    const hex = objectHex(id);
    return join(this.path, 'objects', hex.slice(0, 2), hex.slice(2));
  }

  /** Runs an operation within the timeout; file system errors become UNAVAILABLE (after checking this is the store). */
  private run<T>(what: string, work: () => Promise<T>): Promise<T> {
    return withTimeout(
      work().catch(async (err) => {
        if (isBazilError(err)) throw err;
        await this.present();
        throw new BazilError('UNAVAILABLE', `store ${this.name} at ${this.path}: ${what} failed: ${(err as Error).message}`);
      }),
      this.timeoutMs,
      `store ${this.name} at ${this.path}`,
    );
  }

  /** Throws UNAVAILABLE unless PATH holds this store. */
  private async present(): Promise<void> {
    const found = await readDirIdentity(this.path).catch(() => undefined);
    if (found === this.id) return;
    throw new BazilError(
      'UNAVAILABLE',
      `store ${this.name} is not available at ${this.path} (${found ? `that is store dir:${found}` : 'no store there: unplugged?'}); plug it in, or \`bazil store locate ${this.id} PATH\` if it is elsewhere now`,
    );
  }

  has(id: Uint8Array): Promise<boolean> {
    return this.run('has', async () => {
      try {
        await stat(this.pathOf(id));
        return true;
      } catch (err) {
        if (!isErrno(err, 'ENOENT')) throw err;
        await this.present();
        return false;
      }
    });
  }

  get(id: Uint8Array): Promise<Buffer> {
    return this.run('get', async () => {
      try {
        const f = await open(this.pathOf(id), 'r');
        try {
          const { size } = await f.stat();
          if (size > MAX_OBJECT_BYTES) throw tooBig(id, this.name, size);
          const buf = Buffer.alloc(size);
          const { bytesRead } = await f.read(buf, 0, size, 0);
          return buf.subarray(0, bytesRead);
        } finally {
          await f.close();
        }
      } catch (err) {
        if (!isErrno(err, 'ENOENT')) throw err;
        await this.present();
        throw new BazilError('NOT_FOUND', `object ${objectHex(id)} is not in store ${this.name}`);
      }
    });
  }

  put(id: Uint8Array, bytes: Buffer): Promise<boolean> {
    return this.run('put', async () => {
      if (await this.has(id)) return false;
      const path = this.pathOf(id);
      await mkdir(join(path, '..'), { recursive: true, mode: 0o700 });
      await mkdir(join(this.path, 'tmp'), { recursive: true, mode: 0o700 });
      const tmp = join(this.path, 'tmp', `obj-${randomBytes(8).toString('hex')}`);
      const fh = await open(tmp, 'wx', 0o600);
      try {
        // In pieces: a large object is not one system call.
        for (let at = 0; at < bytes.length; at += 1 << 20) {
          const piece = bytes.subarray(at, at + (1 << 20));
          const { bytesWritten } = await fh.write(piece);
          if (bytesWritten !== piece.length) throw new Error(`short write to ${tmp}`);
        }
        await fh.sync();
      } catch (err) {
        await fh.close().catch(() => {});
        await unlink(tmp).catch(() => {});
        throw err;
      }
      await fh.close();
      // Two puts of the same object rename the same bytes: either one wins.
      await rename(tmp, path);
      await syncDir(join(path, '..'));
      return true;
    });
  }

  delete(id: Uint8Array): Promise<void> {
    return this.run('delete', async () => {
      await this.present();
      await unlink(this.pathOf(id)).catch((err) => {
        if (!isErrno(err, 'ENOENT')) throw err;
      });
    });
  }

  list(): Promise<Buffer[]> {
    return this.run('list', async () => {
      await this.present();
      const ids: Buffer[] = [];
      const root = join(this.path, 'objects');
      for (const fan of await readdir(root)) {
        if (!/^[0-9a-f]{2}$/.test(fan)) continue;
        for (const rest of await readdir(join(root, fan))) {
          if (isObjectHex(fan + rest)) ids.push(Buffer.from(fan + rest, 'hex'));
        }
      }
      return ids;
    });
  }

  async close(): Promise<void> {}
}

async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
