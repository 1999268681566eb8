/**
 * The FUSE operations of one mounted volume: paths in, tree and open-file
 * calls out, errors as errno. The kernel calls from several threads at once,
 * so every operation is a promise; none holds a database transaction across
 * an await.
 *
 * `/.snap` at the root is virtual: `/.snap/NAME/...` is snapshot NAME, read
 * only, and `mkdir /.snap/NAME` takes one. It is not listed in the root, so
 * tools that walk the tree (cp -r, tar, diff -r) do not descend into it.
 */
import { statfs } from 'node:fs/promises';
import { constants } from 'node:fs';
import { BazilError } from '../engine/errors.js';
import type { ContentStore } from '../engine/store/content.js';
import { OpenFile, baseOf, baseSize, contentSizes, readBase } from '../engine/tree/open-file.js';
import type { SnapEntry, SnapshotReader } from '../engine/tree/snapshots.js';
import { NAME_MAX, checkNameLength, type Kind, type Node, type Tree } from '../engine/tree/tree.js';
import { nsOf, timeOfNs } from '../engine/tree/times.js';
import { ERRNO, errnoOf } from './errno.js';

export const SNAP_DIR = '.snap';

const TYPE_BITS: Record<Kind, number> = { file: constants.S_IFREG, dir: constants.S_IFDIR, symlink: constants.S_IFLNK };
const WRITE_FLAGS = constants.O_WRONLY | constants.O_RDWR;

/** Times in nanoseconds since the epoch (the patched fuse-native passes them on whole). */
interface Times {
  atime: bigint;
  mtime: bigint;
  ctime: bigint;
}

interface Stat extends Times {
  mode: number;
  size: number;
  nlink: number;
  uid: number;
  gid: number;
  blocks: number;
  blksize: number;
}

type Handle = { kind: 'file'; file: OpenFile } | { kind: 'snap'; read: (buf: Buffer, length: number, offset: number) => Promise<number> };

/** Where a path points: the live tree, the .snap directory, or inside a snapshot. */
type Place = { at: 'tree'; path: string } | { at: 'snapdir' } | { at: 'snap'; name: string; rest: string[] };

function place(path: string): Place {
  const parts = path.split('/').filter(Boolean);
  if (parts[0] !== SNAP_DIR) return { at: 'tree', path };
  if (parts.length === 1) return { at: 'snapdir' };
  return { at: 'snap', name: parts[1], rest: parts.slice(2) };
}

function split(path: string): { dir: string; name: string } {
  const i = path.lastIndexOf('/');
  return { dir: path.slice(0, i) || '/', name: path.slice(i + 1) };
}

const readOnly = () => new BazilError('READ_ONLY', 'snapshots are read-only');

export interface VolumeFsOptions {
  tree: Tree;
  store: ContentStore;
  snapshots: SnapshotReader;
  /** Where open files keep their dirty buffers. */
  tmpDir: string;
  /** A path on the disk that holds the data dir, for statfs. */
  dataDir: string;
  /** Takes a snapshot (after committing open files): mkdir .snap/NAME. */
  takeSnapshot(name: string): Promise<void>;
  /** Told when a file's last handle is closed (a sync may be waiting for it). */
  closed?(ino: number): void;
  log(line: string): void;
}

/**
 * A node's times. An open file with writes not yet committed has its own
 * mtime (whole milliseconds); the recorded nanoseconds go with the recorded one.
 */
function nodeTimes(node: Node, openMtime = node.mtime): Times {
  return {
    atime: nsOf(node.atime, node.atimeNs),
    mtime: nsOf(openMtime, openMtime === node.mtime ? node.mtimeNs : 0),
    ctime: nsOf(node.ctime),
  };
}

export class VolumeFs {
  private readonly tree: Tree;
  private readonly store: ContentStore;
  private readonly handles = new Map<number, Handle>();
  private readonly files = new Map<number, OpenFile>();
  private nextHandle = 1;
  private readonly uid = process.getuid?.() ?? 0;
  private readonly gid = process.getgid?.() ?? 0;

  constructor(private readonly opts: VolumeFsOptions) {
    this.tree = opts.tree;
    this.store = opts.store;
  }

  /** True while a file is open through the mount: a sync must not change it under its readers. */
  isOpen(ino: number): boolean {
    return this.files.has(ino);
  }

  /** Commits every open file's writes; for snapshots and unmount. */
  async commitAll(durable = false): Promise<void> {
    for (const file of this.files.values()) await file.commit(durable);
  }

  /** `stored`: the bytes a file's content keeps (holes are not); st_blocks counts those. */
  private stat(kind: Kind, mode: number, size: number, times: Times, nlink: number, stored = size): Stat {
    return {
      mode: TYPE_BITS[kind] | mode,
      size,
      ...times,
      nlink,
      uid: this.uid,
      gid: this.gid,
      blocks: Math.ceil(stored / 512),
      blksize: 4096,
    };
  }

  private nodeStat(node: Node): Stat {
    const open = this.files.get(node.ino);
    const nlink = node.kind === 'dir' ? 2 + this.tree.subdirCount(node.ino) : 1;
    if (node.kind !== 'file') return this.stat(node.kind, node.mode, node.size, nodeTimes(node), nlink);
    if (open) return this.stat('file', node.mode, open.size, nodeTimes(node, open.mtime), nlink, open.stored);
    const { size, stored } = contentSizes(node, `the manifest of inode ${node.ino}`);
    return this.stat('file', node.mode, size, nodeTimes(node), nlink, stored);
  }

  private snapStat(e: SnapEntry): Stat {
    // The modes as they were, so cp -p restores them; writes fail with EROFS.
    const t = nsOf(e.mtime);
    const times = { atime: t, mtime: t, ctime: t };
    if (e.kind === 'file') {
      const { size, stored } = contentSizes(e, `the manifest of snapshot file "${e.name}"`);
      return this.stat('file', e.mode, size, times, 1, stored);
    }
    return this.stat(e.kind, e.mode, e.kind === 'symlink' ? Buffer.byteLength(e.target ?? '') : e.size, times, e.kind === 'dir' ? 2 : 1);
  }

  private async snapEntry(p: { name: string; rest: string[] }): Promise<SnapEntry> {
    return this.opts.snapshots.resolve(p.name, p.rest);
  }

  /** The directory a path's last name is in (the tree checks that it is one). */
  private parentOf(path: string): { parent: Node; name: string } {
    const { dir, name } = split(path);
    checkNameLength(name); // ENAMETOOLONG before ENOENT, as for any lookup
    return { parent: this.tree.resolve(dir), name };
  }

  /** Refuses changes to /.snap and anything inside it; creating /.snap itself finds it exists. */
  private writable(path: string, creating = false): void {
    const p = place(path);
    if (p.at === 'snapdir' && creating) throw new BazilError('ALREADY_EXISTS', `/${SNAP_DIR} is reserved for snapshots`);
    if (p.at !== 'tree') throw readOnly();
  }

  private openFile(node: Node): OpenFile {
    let file = this.files.get(node.ino);
    if (!file) {
      file = new OpenFile(node.ino, node, this.tree, this.store, this.opts.tmpDir);
      this.files.set(node.ino, file);
    }
    file.refs++;
    return file;
  }

  private async releaseFile(file: OpenFile): Promise<void> {
    file.refs--;
    if (file.refs > 0) return;
    try {
      await file.commit();
    } finally {
      if (file.refs === 0) {
        this.files.delete(file.ino);
        await file.close();
        this.opts.closed?.(file.ino);
      }
    }
  }

  private addHandle(h: Handle): number {
    const fh = this.nextHandle++;
    this.handles.set(fh, h);
    return fh;
  }

  private handle(fh: number): Handle {
    const h = this.handles.get(fh);
    if (!h) throw new BazilError('INVALID_ARGUMENT', `no open file handle ${fh}`);
    return h;
  }

  private fileHandle(fh: number): OpenFile {
    const h = this.handle(fh);
    if (h.kind !== 'file') throw readOnly();
    return h.file;
  }

  // ---- the operations, by name -------------------------------------------

  async getattr(path: string): Promise<Stat> {
    const p = place(path);
    if (p.at === 'snapdir') {
      return this.stat('dir', 0o555, 0, nodeTimes(this.tree.get(this.tree.root)), 2);
    }
    if (p.at === 'snap') return this.snapStat(await this.snapEntry(p));
    return this.nodeStat(this.tree.resolve(path));
  }

  async readdir(path: string): Promise<string[]> {
    const p = place(path);
    if (p.at === 'snapdir') return ['.', '..', ...this.opts.snapshots.names()];
    if (p.at === 'snap') return ['.', '..', ...(await this.opts.snapshots.list(await this.snapEntry(p))).map((e) => e.name)];
    const node = this.tree.resolve(path);
    if (node.kind !== 'dir') throw new BazilError('NOT_A_DIRECTORY', `${path} is not a directory`);
    return ['.', '..', ...this.tree.children(node.ino).map((c) => c.name)];
  }

  async open(path: string, flags: number): Promise<number> {
    const p = place(path);
    if (p.at === 'snapdir') throw new BazilError('IS_A_DIRECTORY', `/${SNAP_DIR} is a directory`);
    if (p.at === 'snap') {
      if (flags & WRITE_FLAGS) throw readOnly();
      const e = await this.snapEntry(p);
      if (e.kind === 'dir') throw new BazilError('IS_A_DIRECTORY', `${path} is a directory`);
      const base = baseOf(this.store, { ino: 0, data: e.data ?? null, manifest: e.manifest ?? null });
      const size = baseSize(base); // the content's, not the listed size: see contentSizes
      const read = async (buf: Buffer, length: number, offset: number) => {
        const end = Math.min(offset + length, size);
        if (offset >= end) return 0;
        await readBase(base, buf, 0, offset, end);
        return end - offset;
      };
      return this.addHandle({ kind: 'snap', read });
    }
    const node = this.tree.resolve(path);
    if (node.kind === 'dir') throw new BazilError('IS_A_DIRECTORY', `${path} is a directory`);
    return this.addHandle({ kind: 'file', file: this.openFile(node) });
  }

  async create(path: string, mode: number): Promise<number> {
    this.writable(path, true);
    const { parent, name } = this.parentOf(path);
    const node = this.tree.create(parent.ino, name, 'file', mode);
    return this.addHandle({ kind: 'file', file: this.openFile(node) });
  }

  async read(fh: number, buf: Buffer, length: number, offset: number): Promise<number> {
    const h = this.handle(fh);
    return h.kind === 'file' ? h.file.read(buf, length, offset) : h.read(buf, length, offset);
  }

  async write(fh: number, buf: Buffer, length: number, offset: number): Promise<number> {
    return this.fileHandle(fh).write(buf.subarray(0, length), offset);
  }

  async flush(fh: number): Promise<void> {
    const h = this.handle(fh);
    if (h.kind === 'file') await h.file.commit();
  }

  async fsync(fh: number): Promise<void> {
    const h = this.handle(fh);
    if (h.kind === 'file') await h.file.commit(true);
  }

  async release(fh: number): Promise<void> {
    const h = this.handle(fh);
    this.handles.delete(fh);
    if (h.kind === 'file') await this.releaseFile(h.file);
  }

  async truncate(path: string, size: number): Promise<void> {
    this.writable(path);
    const node = this.tree.resolve(path);
    if (node.kind === 'dir') throw new BazilError('IS_A_DIRECTORY', `${path} is a directory`);
    const file = this.openFile(node);
    try {
      await file.truncate(size);
    } finally {
      await this.releaseFile(file);
    }
  }

  async ftruncate(fh: number, size: number): Promise<void> {
    await this.fileHandle(fh).truncate(size);
  }

  async unlink(path: string): Promise<void> {
    this.writable(path);
    const { parent, name } = this.parentOf(path);
    this.tree.remove(parent.ino, name, false);
  }

  async mkdir(path: string, mode: number): Promise<void> {
    const p = place(path);
    if (p.at === 'snap' && p.rest.length === 0) return this.opts.takeSnapshot(p.name);
    this.writable(path, true);
    const { parent, name } = this.parentOf(path);
    this.tree.create(parent.ino, name, 'dir', mode);
  }

  async rmdir(path: string): Promise<void> {
    this.writable(path);
    const { parent, name } = this.parentOf(path);
    this.tree.remove(parent.ino, name, true);
  }

  async rename(from: string, to: string): Promise<void> {
    this.writable(from);
    this.writable(to);
    const src = this.parentOf(from);
    const dst = this.parentOf(to);
    this.tree.rename(src.parent.ino, src.name, dst.parent.ino, dst.name);
  }

  async symlink(target: string, path: string): Promise<void> {
    this.writable(path, true);
    const { parent, name } = this.parentOf(path);
    this.tree.create(parent.ino, name, 'symlink', 0o777, target);
  }

  async readlink(path: string): Promise<string> {
    const p = place(path);
    const target = p.at === 'snap' ? (await this.snapEntry(p)).target : p.at === 'tree' ? this.tree.resolve(path).target : null;
    if (target === null || target === undefined) throw new BazilError('INVALID_ARGUMENT', `${path} is not a symbolic link`);
    return target;
  }

  async chmod(path: string, mode: number): Promise<void> {
    this.writable(path);
    this.tree.setMode(this.tree.resolve(path).ino, mode);
  }

  /** Each time in nanoseconds since the epoch, or null to leave it (UTIME_OMIT). */
  async utimens(path: string, atime: bigint | null, mtime: bigint | null): Promise<void> {
    this.writable(path);
    const node = this.tree.resolve(path);
    const m = mtime === null ? null : timeOfNs(mtime);
    this.tree.setTimes(node.ino, atime === null ? null : timeOfNs(atime), m);
    // An open file's commit records its own mtime: make it this one.
    if (m) this.files.get(node.ino)?.setMtime(m.ms);
  }

  async statfs(): Promise<Record<string, number>> {
    const s = await statfs(this.opts.dataDir);
    return { bsize: s.bsize, frsize: s.bsize, blocks: s.blocks, bfree: s.bfree, bavail: s.bavail, files: s.files, ffree: s.ffree, favail: s.ffree, namemax: NAME_MAX };
  }

  /** The operations in fuse-native's callback form. */
  ops(): Record<string, (...args: any[]) => void> {
    const reply =
      <A extends unknown[]>(name: string, fn: (...args: A) => Promise<unknown>, shape: (result: any) => unknown[] = () => [0]) =>
      (...args: [...A, (code: number, ...rest: unknown[]) => void]) => {
        const cb = args.pop() as (code: number, ...rest: unknown[]) => void;
        fn(...(args as unknown as A)).then(
          (result) => cb(...(shape(result) as [number, ...unknown[]])),
          (err) => {
            const { errno, expected } = errnoOf(err);
            if (!expected) this.opts.log(`${name} ${String(args[0])}: ${(err as Error)?.message ?? err}`);
            cb(errno);
          },
        );
      };
    const one = (r: unknown) => [0, r];
    // read and write answer with the byte count in place of the status.
    const count = (n: unknown) => [n];
    return {
      getattr: reply('getattr', (path: string) => this.getattr(path), one),
      fgetattr: reply('fgetattr', (path: string) => this.getattr(path), one),
      readdir: reply('readdir', (path: string) => this.readdir(path), one),
      open: reply('open', (path: string, flags: number) => this.open(path, flags), one),
      create: reply('create', (path: string, mode: number) => this.create(path, mode), one),
      read: reply('read', (_p: string, fh: number, buf: Buffer, len: number, pos: number) => this.read(fh, buf, len, pos), count),
      write: reply('write', (_p: string, fh: number, buf: Buffer, len: number, pos: number) => this.write(fh, buf, len, pos), count),
      flush: reply('flush', (_p: string, fh: number) => this.flush(fh)),
      fsync: reply('fsync', (_p: string, _datasync: boolean, fh: number) => this.fsync(fh)),
      release: reply('release', (_p: string, fh: number) => this.release(fh)),
      truncate: reply('truncate', (path: string, size: number) => this.truncate(path, size)),
      ftruncate: reply('ftruncate', (_p: string, fh: number, size: number) => this.ftruncate(fh, size)),
      unlink: reply('unlink', (path: string) => this.unlink(path)),
      mkdir: reply('mkdir', (path: string, mode: number) => this.mkdir(path, mode)),
      rmdir: reply('rmdir', (path: string) => this.rmdir(path)),
      rename: reply('rename', (from: string, to: string) => this.rename(from, to)),
      symlink: reply('symlink', (target: string, path: string) => this.symlink(target, path)),
      readlink: reply('readlink', (path: string) => this.readlink(path), one),
      chmod: reply('chmod', (path: string, mode: number) => this.chmod(path, mode)),
      utimens: reply('utimens', (path: string, atime: bigint | null, mtime: bigint | null) => this.utimens(path, atime, mtime)),
      // One owner: the server's user. chown is accepted and changes nothing, as
      // on file systems without ownership, so tar and cp -p work.
      chown: reply('chown', async (path: string) => {
        this.writable(path);
        this.tree.resolve(path);
      }),
      // No hard links: EPERM is link(2)'s answer for that (git then renames instead).
      link: (_from: string, _to: string, cb: (code: number) => void) => cb(-ERRNO.EPERM),
      statfs: reply('statfs', () => this.statfs(), one),
    };
  }
}

