/**
 * `sftp://[user@]host[:port]/path`: a store in a directory of an SSH server,
 * over ssh2's SFTP. Laid out as a dir: store (objects/ab/cdef..., tmp/); a put
 * writes a temp file, fsyncs it and renames it into place with OpenSSH's
 * posix-rename (atomic, replacing), so an object is absent or whole. The
 * connection (made by the caller: host-key checking and authentication are
 * `bazil pair`'s) is opened on first use and again after it drops.
 */
import { randomBytes } from 'node:crypto';
import { posix } from 'node:path';
import type { Client as SshClient, SFTPWrapper } from 'ssh2';
import { BazilError, isBazilError } from '../errors.js';
import { isObjectHex, MAX_OBJECT_BYTES, objectHex, STORE_TIMEOUT_MS, tooBig, withTimeout, type RemoteStore } from './remote.js';

/** An SSH connection, authenticated. */
export interface SshConnection {
  client: SshClient;
  close(): void;
}

export type SshConnect = () => Promise<SshConnection>;

/** SFTP status codes (draft-ietf-secsh-filexfer). */
const NO_SUCH_FILE = 2;

const sftpCode = (err: unknown): number | undefined => (err as { code?: unknown }).code as number | undefined;

export class SftpStore implements RemoteStore {
  private conn?: Promise<{ ssh: SshConnection; sftp: SFTPWrapper }>;

  constructor(
    readonly name: string,
    /** The store's directory on the server (absolute). */
    private readonly root: string,
    private readonly connect: SshConnect,
    private readonly timeoutMs = STORE_TIMEOUT_MS,
  ) {}

  private sftp(): Promise<SFTPWrapper> {
    this.conn ??= (async () => {
      const ssh = await this.connect();
      const drop = () => {
        this.conn = undefined;
      };
      ssh.client.once('close', drop);
      ssh.client.once('error', drop);
      try {
        const sftp = await new Promise<SFTPWrapper>((resolve, reject) => ssh.client.sftp((err, s) => (err ? reject(err) : resolve(s))));
        return { ssh, sftp };
      } catch (err) {
        ssh.close();
        throw err;
      }
    })();
    const conn = this.conn;
    conn.catch(() => {
      if (this.conn === conn) this.conn = undefined;
    });
    return conn.then((c) => c.sftp);
  }

  /** One operation within the timeout; a failure that is not the store's answer is UNAVAILABLE. */
  private run<T>(what: string, work: (sftp: SFTPWrapper) => Promise<T>): Promise<T> {
    return withTimeout(
      this.sftp()
        .then(work)
        .catch((err) => {
          if (isBazilError(err) && err.code !== 'UNAVAILABLE') throw err;
          if (!isBazilError(err)) this.dropConnection(); // the connection may be the trouble: the next operation makes a new one
          throw new BazilError('UNAVAILABLE', `store ${this.name}: ${what} failed: ${(err as Error).message}`);
        }),
      this.timeoutMs,
      `store ${this.name}`,
    ).catch((err) => {
      if (isBazilError(err, 'UNAVAILABLE') && /did not answer/.test(err.message)) this.dropConnection();
      throw err;
    });
  }

  private dropConnection(): void {
    const conn = this.conn;
    this.conn = undefined;
    void conn?.then((c) => c.ssh.close(), () => {});
  }

  private pathOf(id: Uint8Array): string {
    const hex = objectHex(id);
    return posix.join(this.root, 'objects', hex.slice(0, 2), hex.slice(2));
  }

  /** Makes the store's directories (for `bazil store add`); existing ones are fine. */
  init(): Promise<void> {
    return this.run('making its directories', async (sftp) => {
      for (const dir of [this.root, posix.join(this.root, 'objects'), posix.join(this.root, 'tmp')]) await mkdirQuiet(sftp, dir);
      await call<unknown>((cb) => sftp.stat(posix.join(this.root, 'objects'), cb));
    });
  }

  has(id: Uint8Array): Promise<boolean> {
    return this.run('has', (sftp) => exists(sftp, this.pathOf(id)));
  }

  get(id: Uint8Array): Promise<Buffer> {
    return this.run('get', async (sftp) => {
      try {
        return await readBounded(sftp, this.pathOf(id), (size) => tooBig(id, this.name, size));
      } catch (err) {
        if (sftpCode(err) !== NO_SUCH_FILE) throw err;
        throw new BazilError('NOT_FOUND', `object ${objectHex(id)} is not in store ${this.name}`);
      }
    });
  }

  put(id: Uint8Array, bytes: Buffer): Promise<boolean> {
    return this.run('put', async (sftp) => {
      const path = this.pathOf(id);
      if (await exists(sftp, path)) return false;
      await mkdirQuiet(sftp, posix.dirname(path));
      const tmp = posix.join(this.root, 'tmp', `obj-${randomBytes(8).toString('hex')}`);
      const handle = await call<Buffer>((cb) => sftp.open(tmp, 'wx', cb));
      try {
        for (let at = 0; at < bytes.length; at += 1 << 20) {
          const n = Math.min(1 << 20, bytes.length - at);
          await call<void>((cb) => sftp.write(handle, bytes, at, n, at, cb));
        }
        await call<void>((cb) => sftp.ext_openssh_fsync(handle, cb));
        await call<void>((cb) => sftp.close(handle, cb));
      } catch (err) {
        await call<void>((cb) => sftp.close(handle, cb)).catch(() => {});
        await call<void>((cb) => sftp.unlink(tmp, cb)).catch(() => {});
        throw err;
      }
      // Two puts of the same object rename the same bytes: either one wins.
      await call<void>((cb) => sftp.ext_openssh_rename(tmp, path, cb));
      return true;
    });
  }

  delete(id: Uint8Array): Promise<void> {
    return this.run('delete', async (sftp) => {
      await call<void>((cb) => sftp.unlink(this.pathOf(id), cb)).catch((err) => {
        if (sftpCode(err) !== NO_SUCH_FILE) throw err;
      });
    });
  }

  list(): Promise<Buffer[]> {
    return this.run('list', async (sftp) => {
      const root = posix.join(this.root, 'objects');
      const ids: Buffer[] = [];
      for (const fan of await call<{ filename: string }[]>((cb) => sftp.readdir(root, cb))) {
        if (!/^[0-9a-f]{2}$/.test(fan.filename)) continue;
        for (const rest of await call<{ filename: string }[]>((cb) => sftp.readdir(posix.join(root, fan.filename), cb))) {
          if (isObjectHex(fan.filename + rest.filename)) ids.push(Buffer.from(fan.filename + rest.filename, 'hex'));
        }
      }
      return ids;
    });
  }

  async close(): Promise<void> {
    this.dropConnection();
  }
}

/** An SFTP call as a promise (its callback's error rejects it). */
function call<T>(fn: (cb: (err: Error | undefined | null, value?: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => fn((err, value) => (err ? reject(err) : resolve(value as T))));
}

/** A file's bytes, refused (tooBig) past MAX_OBJECT_BYTES whatever the server says its size is. */
async function readBounded(sftp: SFTPWrapper, path: string, tooBig: (size: number) => Error): Promise<Buffer> {
  const handle = await call<Buffer>((cb) => sftp.open(path, 'r', cb));
  try {
    const parts: Buffer[] = [];
    let total = 0;
    for (;;) {
      const want = Math.min(1 << 20, MAX_OBJECT_BYTES + 1 - total);
      const buf = Buffer.alloc(want);
      const n = await new Promise<number>((resolve, reject) =>
        sftp.read(handle, buf, 0, want, total, (err, bytesRead) => (err ? ((err as { code?: unknown }).code === 1 ? resolve(0) : reject(err)) : resolve(bytesRead))),
      );
      if (n === 0) break; // end of file (SSH_FX_EOF, or an empty read)
      parts.push(buf.subarray(0, n));
      total += n;
      if (total > MAX_OBJECT_BYTES) throw tooBig(total);
    }
    return Buffer.concat(parts, total);
  } finally {
    await call<void>((cb) => sftp.close(handle, cb)).catch(() => {});
  }
}

async function exists(sftp: SFTPWrapper, path: string): Promise<boolean> {
  try {
    await call<unknown>((cb) => sftp.stat(path, cb));
    return true;
  } catch (err) {
    if (sftpCode(err) === NO_SUCH_FILE) return false;
    throw err;
  }
}

/** mkdir that is fine with an existing directory (SFTP answers a plain failure then). */
async function mkdirQuiet(sftp: SFTPWrapper, dir: string): Promise<void> {
  try {
    await call<void>((cb) => sftp.mkdir(dir, cb));
  } catch (err) {
    if (!(await exists(sftp, dir))) throw err;
  }
}
