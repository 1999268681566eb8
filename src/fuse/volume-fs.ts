/**
 * The FUSE operations of one mounted volume: the kernel's inode requests in,
 * tree and open-file calls out, errors as errno. Inode numbers are the tree's
 * (the kernel's root, 1, is the volume's root), so no request resolves a path.
 * Operations that touch only the database answer at once; reads, writes and
 * commits answer when their promise settles. None holds a database
 * transaction across an await.
 *
 * The kernel caches entries, attributes and pages for CACHE_SECONDS; what
 * changes the tree other than through this mount (a sync, a conflict
 * resolution) is dropped from its caches by invalidate().
 *
 * `/.snap` at the root is virtual: `/.snap/NAME/...` is snapshot NAME, read
 * only, and `mkdir /.snap/NAME` takes one. It is not listed in the root, so
 * tools that walk the tree (cp -r, tar, diff -r) do not descend into it.
 */
import { statfs } from 'node:fs/promises';
import { constants } from 'node:fs';
import { BazilError } from '../engine/errors.js';
import { nameBytes, nameFromBytes, showName } from '../engine/names.js';
import type { ContentStore } from '../engine/store/content.js';
import { Extents } from '../engine/tree/extents.js';
import { OpenFile, baseOf, baseSize, contentSizes, readBase, seekContent } from '../engine/tree/open-file.js';
import type { OpenFiles } from '../engine/tree/open-files.js';
import type { SnapEntry, SnapshotReader } from '../engine/tree/snapshots.js';
import { isUserXattr } from '../engine/tree/xattrs.js';
import { NAME_MAX, targetSize, type Kind, type Node, type Tree, type TreeChange } from '../engine/tree/tree.js';
import { errnoOf, ERRNO } from './errno.js';
import { Op, SET, type Attr, type Edge, type Entry, type Request, type Session } from './edge.js';
import type { Handler } from './mount.js';

export const SNAP_DIR = '.snap';
const SNAP_NAME = Buffer.from(SNAP_DIR);

/** How long the kernel may keep entries and attributes: changes from elsewhere are invalidated. */
const CACHE_SECONDS = 3600;
const FUSE_ROOT = 1;
/** Virtual inodes (.snap and what is inside snapshots) are numbered from here: far above the tree's. */
const SNAP_INO = 2 ** 50;

const TYPE_BITS: Record<Kind, number> = {
  file: constants.S_IFREG,
  dir: constants.S_IFDIR,
  symlink: constants.S_IFLNK,
  fifo: constants.S_IFIFO,
  socket: constants.S_IFSOCK,
  chardev: constants.S_IFCHR,
  blockdev: constants.S_IFBLK,
};
/** What mknod(2) makes, by the type bits of its mode. */
const MKNOD_KINDS = new Map<number, Kind>((['file', 'fifo', 'socket', 'chardev', 'blockdev'] as Kind[]).map((k) => [TYPE_BITS[k], k]));
const WRITE_FLAGS = constants.O_WRONLY | constants.O_RDWR;
const RENAME_NOREPLACE = 1;
/** fallocate(2)'s modes. */
const FALLOC_KEEP_SIZE = 1;
const FALLOC_PUNCH_HOLE = 2;
/** setxattr(2)'s flags. */
const XATTR_CREATE = 1;
const XATTR_REPLACE = 2;
/** lseek(2)'s whences that reach FUSE (the kernel answers SEEK_SET, SEEK_CUR and SEEK_END). */
const SEEK_DATA = 3;
const SEEK_HOLE = 4;

/**
 * A name from the kernel, as the tree keeps it: its bytes, whatever they are
 * (engine/names.ts), and given back as the same bytes (nameBytes). This edge is
 * the one place where tree names become the operating system's names. Linux
 * takes any bytes but '/' and NUL, so every name a peer sends shows as it is.
 * On a system whose names must be Unicode (macOS, Windows), the edge would
 * show a name that is not UTF-8 under its escaped spelling (names.ts showName,
 * caf\xe9.txt, as the CLI prints it) and map that spelling back here, keeping
 * the stored bytes.
 */
function nameOf(bytes: Buffer): string {
  if (bytes.length > NAME_MAX) throw new BazilError('NAME_TOO_LONG', `a name of ${bytes.length} bytes is longer than ${NAME_MAX}`);
  return nameFromBytes(bytes);
}

/** A time (milliseconds and nanoseconds past them) as seconds and nanoseconds. */
function secNs(ms: number, ns = 0): [number, number] {
  const s = Math.floor(ms / 1000);
  return [s, (ms - s * 1000) * 1e6 + ns];
}

type Handle =
  | { kind: 'file'; file: OpenFile }
  | { kind: 'snap'; read: (buf: Buffer, length: number, offset: number) => Promise<number>; seek: (off: number, data: boolean) => Promise<number | undefined> }
  | { kind: 'dir'; names: Buffer[]; entries: Entry[]; modes: number[][]; ino?: number };

/** A virtual inode: the .snap directory, or an entry inside snapshot `snap` at `path`. */
interface Virtual {
  snap?: string;
  path: string[];
}

export interface VolumeFsOptions {
  tree: Tree;
  store: ContentStore;
  files: OpenFiles;
  snapshots: SnapshotReader;
  /** A path on the disk that holds the data dir, for statfs. */
  dataDir: string;
  /** Takes a snapshot (after committing open files): mkdir .snap/NAME. */
  takeSnapshot(name: string): Promise<void>;
  log(line: string): void;
}

export class VolumeFs implements Handler {
  private readonly tree: Tree;
  private readonly files: OpenFiles;
  private readonly handles = new Map<number, Handle>();
  private nextHandle = 1;
  private readonly uid = process.getuid?.() ?? 0;
  private readonly gid = process.getgid?.() ?? 0;
  /** Requests handed over and not answered yet, and who waits for none. */
  private pending = 0;
  private idleWaiters: (() => void)[] = [];
  /** True while a request from the kernel runs: its changes are known to the kernel already. */
  private inKernelOp = false;
  /** Generations of reused inode numbers: a removed node's number may come back for a new one. */
  private readonly generations = new Map<number, number>();
  /** Open files whose last name was removed, as they were (see keepIfOpen). */
  private readonly orphans = new Map<number, Node>();
  private readonly virtuals = new Map<number, Virtual>([[SNAP_INO, { path: [] }]]);
  private readonly virtualInos = new Map<string, number>();
  private nextVirtual = SNAP_INO + 1;
  private mounted?: { edge: Edge; session: Session };

  constructor(private readonly opts: VolumeFsOptions) {
    this.tree = opts.tree;
    this.files = opts.files;
  }

  /** Once mounted: from then on, changes from elsewhere are dropped from the kernel's caches. */
  attach(edge: Edge, session: Session): () => void {
    this.mounted = { edge, session };
    return this.tree.onTreeChange((changes) => this.invalidate(changes));
  }

  private invalidate(changes: TreeChange[]): void {
    // A removed node's number may be given to a new one: the kernel must not take it for the old.
    for (const c of changes) if (c.entry && !this.tree.exists(c.ino)) this.generations.set(c.ino, (this.generations.get(c.ino) ?? 0) + 1);
    if (this.inKernelOp || !this.mounted) return;
    const { edge, session } = this.mounted;
    const seen = new Set<number>();
    for (const c of changes) {
      if (c.entry) edge.invalEntry(session, this.kino(c.entry.parent), nameBytes(c.entry.name));
      if (!seen.has(c.ino)) edge.invalInode(session, this.kino(c.ino), true);
      seen.add(c.ino);
    }
  }

  // ---- inode numbers --------------------------------------------------------

  private kino(ino: number): number {
    return ino === this.tree.root ? FUSE_ROOT : ino;
  }

  private tino(kino: number): number {
    return kino === FUSE_ROOT ? this.tree.root : kino;
  }

  private virtualIno(snap: string, path: string[]): number {
    const key = JSON.stringify([snap, ...path]);
    let ino = this.virtualInos.get(key);
    if (ino === undefined) {
      ino = this.nextVirtual++;
      this.virtualInos.set(key, ino);
      this.virtuals.set(ino, { snap, path });
    }
    return ino;
  }

  // ---- attributes -----------------------------------------------------------

  /** `stored`: the bytes a file's content keeps (holes are not); st_blocks counts those. */
  private attr(kino: number, kind: Kind, mode: number, size: number, nlink: number, mtime: [number, number], atime = mtime, ctime = mtime, stored = size, rdev = 0): Attr {
    return [kino, TYPE_BITS[kind] | mode, nlink, this.uid, this.gid, size, Math.ceil(stored / 512), ...atime, ...mtime, ...ctime, rdev];
  }

  /** nlink: a file's names (0 once its last name went while open). */
  private nodeAttr(node: Node, nlink = node.kind === 'dir' ? 0 : this.tree.nameCount(node.ino)): Attr {
    const kino = this.kino(node.ino);
    const open = this.files.get(node.ino);
    const atime = secNs(node.atime, node.atimeNs);
    const ctime = secNs(node.ctime);
    if (node.kind === 'dir') return this.attr(kino, 'dir', node.mode, node.size, 2 + this.tree.subdirCount(node.ino), secNs(node.mtime, node.mtimeNs), atime, ctime);
    if (node.kind === 'symlink') return this.attr(kino, 'symlink', node.mode, node.size, nlink, secNs(node.mtime, node.mtimeNs), atime, ctime);
    if (node.kind !== 'file') return this.attr(kino, node.kind, node.mode, 0, nlink, secNs(node.mtime, node.mtimeNs), atime, ctime, 0, node.rdev);
    // An open file with writes not yet committed has its own mtime (whole milliseconds).
    if (open) return this.attr(kino, 'file', node.mode, open.size, nlink, secNs(open.mtime, open.mtime === node.mtime ? node.mtimeNs : 0), atime, ctime, open.stored);
    const { size, stored } = contentSizes(node, `the manifest of inode ${node.ino}`);
    return this.attr(kino, 'file', node.mode, size, nlink, secNs(node.mtime, node.mtimeNs), atime, ctime, stored);
  }

  private snapDirAttr(): Attr {
    const root = this.tree.get(this.tree.root);
    return this.attr(SNAP_INO, 'dir', 0o555, 0, 2, secNs(root.mtime, root.mtimeNs));
  }

  private snapAttr(kino: number, e: SnapEntry): Attr {
    // The modes as they were, so cp -p restores them; writes fail with EROFS.
    const t = secNs(e.mtime);
    if (e.kind === 'file') {
      const { size, stored } = contentSizes(e, `the manifest of snapshot file "${showName(e.name)}"`);
      return this.attr(kino, 'file', e.mode, size, 1, t, t, t, stored);
    }
    const size = e.kind === 'symlink' ? targetSize(e.target ?? '') : e.size;
    return this.attr(kino, e.kind, e.mode, size, e.kind === 'dir' ? 2 : 1, t, t, t, size, e.rdev);
  }

  private entry(node: Node): Entry {
    return [this.nodeAttr(node), this.generations.get(node.ino) ?? 0, CACHE_SECONDS];
  }

  private async snapEntry(v: Virtual): Promise<SnapEntry> {
    return this.opts.snapshots.resolve(v.snap!, v.path);
  }

  // ---- the operations ---------------------------------------------------------

  handle(batch: Request[]): void {
    for (const r of batch) this.one(r);
  }

  idle(): Promise<void> {
    return this.pending === 0 ? Promise.resolve() : new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private one(r: Request): void {
    const { edge } = this.mounted!;
    let result: void | Promise<void>;
    this.inKernelOp = true;
    try {
      result = r.ino >= SNAP_INO ? this.virtualOp(edge, r) : this.treeOp(edge, r);
    } catch (err) {
      this.fail(edge, r, err);
      return;
    } finally {
      this.inKernelOp = false;
    }
    if (!result) return;
    this.pending++;
    result
      .catch((err) => this.fail(edge, r, err))
      .finally(() => {
        if (--this.pending === 0) for (const w of this.idleWaiters.splice(0)) w();
      });
  }

  private fail(edge: Edge, r: Request, err: unknown): void {
    const { errno, expected } = errnoOf(err);
    if (!expected) this.opts.log(`${Op[r.op] ?? r.op} inode ${r.ino}: ${(err as Error)?.message ?? err}`);
    edge.replyErr(r.id, -errno);
  }

  private treeOp(edge: Edge, r: Request): void | Promise<void> {
    const ino = this.tino(r.ino);
    switch (r.op) {
      case Op.LOOKUP: {
        if (ino === this.tree.root && r.name!.equals(SNAP_NAME)) return edge.replyEntry(r.id, [this.snapDirAttr(), 0, 0]);
        const name = nameOf(r.name!);
        const node = this.tree.lookup(ino, name);
        return edge.replyEntry(r.id, node ? this.entry(node) : [null, 0, CACHE_SECONDS]);
      }
      case Op.GETATTR: {
        const orphan = this.orphans.get(ino);
        if (orphan && !this.tree.exists(ino)) return edge.replyAttr(r.id, this.nodeAttr(orphan, 0), CACHE_SECONDS);
        return edge.replyAttr(r.id, this.nodeAttr(this.tree.get(ino)), CACHE_SECONDS);
      }
      case Op.SETATTR:
        return this.setattr(edge, r, ino);
      case Op.READLINK: {
        const target = this.tree.get(ino).target;
        if (target === null) throw new BazilError('INVALID_ARGUMENT', `inode ${ino} is not a symbolic link`);
        return edge.replyReadlink(r.id, nameBytes(target));
      }
      case Op.MKDIR: {
        if (ino === this.tree.root && r.name!.equals(SNAP_NAME)) throw new BazilError('ALREADY_EXISTS', `/${SNAP_DIR} is reserved for snapshots`);
        return edge.replyEntry(r.id, this.entry(this.tree.create(ino, nameOf(r.name!), 'dir', r.mode)));
      }
      // Regular files, FIFOs, sockets and devices (the kernel lets only CAP_MKNOD make devices).
      case Op.MKNOD: {
        const kind = MKNOD_KINDS.get(r.mode & constants.S_IFMT);
        if (!kind) return edge.replyErr(r.id, ERRNO.EINVAL);
        return edge.replyEntry(r.id, this.entry(this.tree.create(ino, this.newName(ino, r.name!), kind, r.mode & 0o7777, null, r.size)));
      }
      case Op.CREATE: {
        const node = this.tree.create(ino, this.newName(ino, r.name!), 'file', r.mode);
        return edge.replyCreate(r.id, this.entry(node), this.addHandle({ kind: 'file', file: this.files.open(node) }));
      }
      case Op.SYMLINK: {
        const name = this.newName(ino, r.name!);
        const target = nameFromBytes(r.name2!);
        return edge.replyEntry(r.id, this.entry(this.tree.create(ino, name, 'symlink', 0o777, target)));
      }
      case Op.UNLINK:
      case Op.RMDIR: {
        this.refuseSnapDir(ino, r.name!);
        this.keepIfOpen(this.tree.remove(ino, nameOf(r.name!), r.op === Op.RMDIR));
        return edge.replyErr(r.id, 0);
      }
      case Op.RENAME:
        return this.rename(edge, r, ino);
      case Op.LINK: {
        const to = this.tino(r.ino2);
        if (r.ino2 >= SNAP_INO) throw new BazilError('READ_ONLY', 'snapshots are read-only');
        return edge.replyEntry(r.id, this.entry(this.tree.link(ino, to, this.newName(to, r.name!))));
      }
      case Op.OPEN: {
        const node = this.tree.get(ino);
        if (node.kind === 'dir') throw new BazilError('IS_A_DIRECTORY', `inode ${ino} is a directory`);
        const file = this.files.open(node);
        const fh = this.addHandle({ kind: 'file', file });
        // The kernel keeps the pages it has: whatever changes them from elsewhere invalidates them.
        if (!(r.flags & constants.O_TRUNC)) return edge.replyOpen(r.id, fh, true);
        // O_TRUNC comes with the open (libfuse asks for atomic_o_trunc).
        return file.truncate(0).then(
          () => edge.replyOpen(r.id, fh, true),
          async (err) => {
            await this.files.release(file);
            this.handles.delete(fh);
            throw err;
          },
        );
      }
      case Op.READ:
        return this.read(edge, r);
      case Op.WRITE:
        return this.fileHandle(r.fh)
          .write(r.data!, r.offset)
          .then((n) => edge.replyWrite(r.id, n));
      case Op.FLUSH:
      case Op.FSYNC: {
        const h = this.handleOf(r.fh);
        if (h.kind !== 'file') return edge.replyErr(r.id, 0);
        return h.file.commit(r.op === Op.FSYNC).then(() => edge.replyErr(r.id, 0));
      }
      case Op.RELEASE: {
        const h = this.handleOf(r.fh);
        this.handles.delete(r.fh);
        if (h.kind !== 'file') return edge.replyErr(r.id, 0);
        return this.files.release(h.file).then(() => {
          if (!this.files.isOpen(ino)) this.orphans.delete(ino);
          edge.replyErr(r.id, 0);
        });
      }
      case Op.OPENDIR:
        return edge.replyOpen(r.id, this.addHandle(this.listing(ino)), false);
      case Op.READDIR:
      case Op.READDIRPLUS:
        return this.readdir(edge, r);
      case Op.RELEASEDIR:
        this.handles.delete(r.fh);
        return edge.replyErr(r.id, 0);
      case Op.STATFS:
        return this.statfs(edge, r);
      case Op.LSEEK:
        return this.lseek(edge, r);
      case Op.SETXATTR:
      case Op.GETXATTR:
      case Op.LISTXATTR:
      case Op.REMOVEXATTR:
        return this.xattr(edge, r, ino);
      case Op.FALLOCATE: {
        // Mode 0 (and KEEP_SIZE alone, then nothing to do) and punching a hole; no other mode.
        const keepSize = (r.mode & FALLOC_KEEP_SIZE) !== 0;
        const punch = (r.mode & FALLOC_PUNCH_HOLE) !== 0;
        if (r.mode & ~(FALLOC_KEEP_SIZE | FALLOC_PUNCH_HOLE) || (punch && !keepSize)) return edge.replyErr(r.id, ERRNO.EOPNOTSUPP);
        return this.fileHandle(r.fh)
          .allocate(r.offset, r.size, punch, keepSize)
          .then(() => edge.replyErr(r.id, 0));
      }
      default:
        return edge.replyErr(r.id, ERRNO.ENOSYS);
    }
  }

  /**
   * Extended attributes, as setxattr(2) and getxattr(2) say: only user.* is
   * stored; other namespaces are not supported (ENOTSUP; their reads are
   * answered ENODATA by the native edge). The kernel checks names (ERANGE
   * past 255 bytes), value sizes (E2BIG past 64 KiB) and permissions.
   */
  private xattr(edge: Edge, r: Request, ino: number): void {
    this.tree.get(ino);
    const xattrs = this.tree.xattrs;
    const replySized = (value: Buffer) => this.replySized(edge, r, value);
    switch (r.op) {
      case Op.GETXATTR: {
        const value = xattrs.get(ino, r.name!);
        return value === undefined ? edge.replyErr(r.id, ERRNO.ENODATA) : replySized(value);
      }
      case Op.LISTXATTR:
        return replySized(Buffer.concat(xattrs.names(ino).flatMap((n) => [n, Buffer.alloc(1)])));
      case Op.SETXATTR: {
        if (!isUserXattr(r.name!)) return edge.replyErr(r.id, ERRNO.ENOTSUP);
        if (r.flags & ~(XATTR_CREATE | XATTR_REPLACE) || r.flags === (XATTR_CREATE | XATTR_REPLACE)) return edge.replyErr(r.id, ERRNO.EINVAL);
        const mode = r.flags & XATTR_CREATE ? 'create' : r.flags & XATTR_REPLACE ? 'replace' : 'either';
        const done = xattrs.set(ino, r.name!, r.data!, mode);
        return edge.replyErr(r.id, done === 'set' ? 0 : done === 'missing' ? ERRNO.ENODATA : ERRNO.ENOSPC);
      }
      default:
        if (!isUserXattr(r.name!)) return edge.replyErr(r.id, ERRNO.ENOTSUP);
        return edge.replyErr(r.id, xattrs.remove(ino, r.name!) ? 0 : ERRNO.ENODATA);
    }
  }

  /**
   * A file whose last name went while it is open lives on for its openers
   * (fstat shows it with no links) until the last close; what is written to
   * it then is dropped with it.
   */
  private keepIfOpen(removed: Node | undefined): void {
    if (removed && removed.kind === 'file' && this.files.isOpen(removed.ino) && !this.tree.exists(removed.ino)) this.orphans.set(removed.ino, removed);
  }

  /** getxattr and listxattr: size 0 asks how big; too small a buffer is ERANGE. */
  private replySized(edge: Edge, r: Request, value: Buffer): void {
    if (r.size === 0) return edge.replyXattr(r.id, value.length);
    if (value.length > r.size) return edge.replyErr(r.id, ERRNO.ERANGE);
    edge.replyBuf(r.id, value, value.length);
  }

  /** A name for a new entry: /.snap is taken. */
  private newName(dir: number, bytes: Buffer): string {
    if (dir === this.tree.root && bytes.equals(SNAP_NAME)) throw new BazilError('ALREADY_EXISTS', `/${SNAP_DIR} is reserved for snapshots`);
    return nameOf(bytes);
  }

  private refuseSnapDir(dir: number, bytes: Buffer): void {
    if (dir === this.tree.root && bytes.equals(SNAP_NAME)) throw new BazilError('READ_ONLY', 'snapshots are read-only');
  }

  /** A directory's entries as a handle reads them: from the start again (rewinddir) they are read anew. */
  private listing(ino: number): Handle & { kind: 'dir' } {
    const dir = this.dir(ino);
    const kino = this.kino(ino);
    const names: Buffer[] = [Buffer.from('.'), Buffer.from('..')];
    const self = this.entry(dir);
    const entries: Entry[] = [self, self];
    const modes: number[][] = [[kino, constants.S_IFDIR], [kino, constants.S_IFDIR]];
    for (const c of this.tree.children(dir.ino)) {
      names.push(nameBytes(c.name));
      entries.push(this.entry(c));
      modes.push([this.kino(c.ino), TYPE_BITS[c.kind]]);
    }
    return { kind: 'dir', names, entries, modes, ino };
  }

  private dir(ino: number): Node {
    const node = this.tree.get(ino);
    if (node.kind !== 'dir') throw new BazilError('NOT_A_DIRECTORY', `inode ${ino} is not a directory`);
    return node;
  }

  private async setattr(edge: Edge, r: Request, ino: number): Promise<void> {
    const set = r.toSet!;
    const node = this.tree.get(ino);
    if (set & SET.SIZE) {
      if (node.kind === 'dir') throw new BazilError('IS_A_DIRECTORY', `inode ${ino} is a directory`);
      const held = r.flags ? this.handles.get(r.fh) : undefined;
      if (held?.kind === 'file') await held.file.truncate(r.size);
      else {
        const file = this.files.open(node);
        try {
          await file.truncate(r.size);
        } finally {
          await this.files.release(file);
        }
      }
    }
    if (set & SET.MODE) this.asKernel(() => this.tree.setMode(ino, r.mode));
    const now = { ms: Date.now(), ns: 0 };
    const timeOf = (given: number, nowBit: number, s: number, ns: number) =>
      set & nowBit ? now : set & given ? { ms: s * 1000 + Math.floor(ns / 1e6), ns: ns % 1e6 } : null;
    const atime = timeOf(SET.ATIME, SET.ATIME_NOW, r.atimeS!, r.atimeNs!);
    const mtime = timeOf(SET.MTIME, SET.MTIME_NOW, r.mtimeS!, r.mtimeNs!);
    if (atime || mtime) {
      this.asKernel(() => this.tree.setTimes(ino, atime, mtime));
      // An open file's commit records its own mtime: make it this one.
      if (mtime) this.files.get(ino)?.setMtime(mtime.ms);
    }
    // chown changes nothing (one owner: the server's user), as on file systems without ownership, so tar and cp -p work.
    edge.replyAttr(r.id, this.nodeAttr(this.tree.get(ino)), CACHE_SECONDS);
  }

  /** Runs a tree change that the kernel asked for after an await (its caches know of it). */
  private asKernel(fn: () => void): void {
    this.inKernelOp = true;
    try {
      fn();
    } finally {
      this.inKernelOp = false;
    }
  }

  private rename(edge: Edge, r: Request, ino: number): void {
    this.refuseSnapDir(ino, r.name!);
    const to = this.tino(r.ino2);
    if (to === this.tree.root && r.name2!.equals(SNAP_NAME)) throw new BazilError('READ_ONLY', 'snapshots are read-only');
    if (r.ino2 >= SNAP_INO) throw new BazilError('READ_ONLY', 'snapshots are read-only');
    const from = nameOf(r.name!);
    const toName = nameOf(r.name2!);
    if (r.flags & ~RENAME_NOREPLACE) return edge.replyErr(r.id, ERRNO.EINVAL);
    if (r.flags & RENAME_NOREPLACE && this.tree.lookup(to, toName)) throw new BazilError('ALREADY_EXISTS', `"${toName}" already exists`);
    this.keepIfOpen(this.tree.rename(ino, from, to, toName));
    edge.replyErr(r.id, 0);
  }

  private async read(edge: Edge, r: Request): Promise<void> {
    const h = this.handleOf(r.fh);
    const buf = Buffer.allocUnsafe(r.size);
    let n: number;
    if (h.kind === 'file') n = await h.file.read(buf, r.size, r.offset);
    else if (h.kind === 'snap') n = await h.read(buf, r.size, r.offset);
    else throw new BazilError('IS_A_DIRECTORY', 'a directory is read with readdir');
    edge.replyBuf(r.id, buf, n);
  }

  /** SEEK_DATA and SEEK_HOLE: where the next data or hole is, so that cp and tar skip holes instead of reading them. */
  private async lseek(edge: Edge, r: Request): Promise<void> {
    if (r.flags !== SEEK_DATA && r.flags !== SEEK_HOLE) return edge.replyErr(r.id, ERRNO.EINVAL);
    const h = this.handleOf(r.fh);
    if (h.kind === 'dir') throw new BazilError('IS_A_DIRECTORY', 'a directory has no data to seek');
    const seek = h.kind === 'file' ? (off: number, data: boolean) => h.file.seek(off, data) : h.seek;
    const at = await seek(r.offset, r.flags === SEEK_DATA);
    if (at === undefined) return edge.replyErr(r.id, ERRNO.ENXIO);
    edge.replyLseek(r.id, at);
  }

  private readdir(edge: Edge, r: Request): void {
    const held = this.handleOf(r.fh);
    if (held.kind !== 'dir') throw new BazilError('NOT_A_DIRECTORY', `handle ${r.fh} is not a directory`);
    let h = held;
    if (r.offset === 0 && h.ino !== undefined) this.handles.set(r.fh, (h = this.listing(h.ino)));
    const plus = r.op === Op.READDIRPLUS;
    edge.replyDir(r.id, r.size, r.offset, h.names, plus ? h.entries : h.modes, plus);
  }

  private async statfs(edge: Edge, r: Request): Promise<void> {
    const s = await statfs(this.opts.dataDir);
    edge.replyStatfs(r.id, [s.bsize, s.bsize, s.blocks, s.bfree, s.bavail, s.files, s.ffree, s.ffree, NAME_MAX]);
  }

  private addHandle(h: Handle): number {
    const fh = this.nextHandle++;
    this.handles.set(fh, h);
    return fh;
  }

  private handleOf(fh: number): Handle {
    const h = this.handles.get(fh);
    if (!h) throw new BazilError('INVALID_ARGUMENT', `no open file handle ${fh}`);
    return h;
  }

  private fileHandle(fh: number): OpenFile {
    const h = this.handleOf(fh);
    if (h.kind !== 'file') throw new BazilError('READ_ONLY', 'snapshots are read-only');
    return h.file;
  }

  // ---- /.snap ---------------------------------------------------------------

  private virtualOp(edge: Edge, r: Request): void | Promise<void> {
    const v = this.virtuals.get(r.ino);
    if (!v) throw new BazilError('NOT_FOUND', `no file with inode ${r.ino}`);
    const readOnly = () => new BazilError('READ_ONLY', 'snapshots are read-only');
    const atSnapDir = v.snap === undefined;
    switch (r.op) {
      case Op.LOOKUP:
        return (async () => {
          const name = nameOf(r.name!);
          // Snapshots come and go (bazil snapshot, mkdir): names in /.snap are not cached.
          const snap = atSnapDir ? name : v.snap!;
          const path = atSnapDir ? [] : [...v.path, name];
          let e: SnapEntry;
          try {
            e = await this.opts.snapshots.resolve(snap, path);
          } catch (err) {
            const { errno } = errnoOf(err);
            if (errno !== -ERRNO.ENOENT) throw err;
            return edge.replyEntry(r.id, [null, 0, atSnapDir ? 0 : CACHE_SECONDS]);
          }
          const kino = this.virtualIno(snap, path);
          edge.replyEntry(r.id, [this.snapAttr(kino, e), 0, atSnapDir ? 0 : CACHE_SECONDS]);
        })();
      case Op.GETATTR:
        if (atSnapDir) return edge.replyAttr(r.id, this.snapDirAttr(), 0);
        return this.snapEntry(v).then((e) => edge.replyAttr(r.id, this.snapAttr(r.ino, e), CACHE_SECONDS));
      case Op.MKDIR:
        if (!atSnapDir) throw readOnly();
        return (async () => {
          const name = nameOf(r.name!);
          await this.opts.takeSnapshot(name);
          const kino = this.virtualIno(name, []);
          edge.replyEntry(r.id, [this.snapAttr(kino, this.opts.snapshots.root(name)), 0, 0]);
        })();
      case Op.READLINK:
        return this.snapEntry(v).then((e) => {
          if (e.target === undefined) throw new BazilError('INVALID_ARGUMENT', `${showName(e.name)} is not a symbolic link`);
          edge.replyReadlink(r.id, nameBytes(e.target));
        });
      case Op.OPEN:
        if (r.flags & WRITE_FLAGS) throw readOnly();
        return this.snapEntry(v).then((e) => {
          if (e.kind === 'dir') throw new BazilError('IS_A_DIRECTORY', `${showName(e.name)} is a directory`);
          const base = baseOf(this.opts.store, { ino: 0, data: e.data ?? null, manifest: e.manifest ?? null });
          const size = baseSize(base); // the content's, not the listed size: see contentSizes
          const read = async (buf: Buffer, length: number, offset: number) => {
            const end = Math.min(offset + length, size);
            if (offset >= end) return 0;
            await readBase(base, buf, 0, offset, end);
            return end - offset;
          };
          // A snapshot's file is its committed content: its manifest's holes are holes.
          const seek = (off: number, data: boolean) => seekContent(base, size, size, new Extents(), off, data);
          edge.replyOpen(r.id, this.addHandle({ kind: 'snap', read, seek }), true);
        });
      case Op.OPENDIR:
        return (async () => {
          const names: Buffer[] = [Buffer.from('.'), Buffer.from('..')];
          const self: Entry = [atSnapDir ? this.snapDirAttr() : this.snapAttr(r.ino, await this.snapEntry(v)), 0, 0];
          const entries: Entry[] = [self, self];
          const modes: number[][] = [[r.ino, constants.S_IFDIR], [r.ino, constants.S_IFDIR]];
          if (atSnapDir) {
            for (const name of this.opts.snapshots.names()) {
              const kino = this.virtualIno(name, []);
              names.push(nameBytes(name));
              entries.push([this.snapAttr(kino, this.opts.snapshots.root(name)), 0, 0]);
              modes.push([kino, constants.S_IFDIR]);
            }
          } else {
            for (const e of await this.opts.snapshots.list(await this.snapEntry(v))) {
              const kino = this.virtualIno(v.snap!, [...v.path, e.name]);
              names.push(nameBytes(e.name));
              entries.push([this.snapAttr(kino, e), 0, CACHE_SECONDS]);
              modes.push([kino, TYPE_BITS[e.kind]]);
            }
          }
          edge.replyOpen(r.id, this.addHandle({ kind: 'dir', names, entries, modes }), false);
        })();
      case Op.READ:
        return this.read(edge, r);
      case Op.READDIR:
      case Op.READDIRPLUS:
        return this.readdir(edge, r);
      case Op.FLUSH:
      case Op.FSYNC:
        return edge.replyErr(r.id, 0);
      case Op.RELEASE:
      case Op.RELEASEDIR:
        this.handles.delete(r.fh);
        return edge.replyErr(r.id, 0);
      case Op.STATFS:
        return this.statfs(edge, r);
      case Op.LSEEK:
        return this.lseek(edge, r);
      case Op.GETXATTR:
      case Op.LISTXATTR:
        return (async () => {
          const list = atSnapDir ? [] : ((await this.snapEntry(v)).xattrs ?? []);
          if (r.op === Op.LISTXATTR) return this.replySized(edge, r, Buffer.concat(list.flatMap(([n]) => [n, Buffer.alloc(1)])));
          const found = list.find(([n]) => n.equals(r.name!));
          return found ? this.replySized(edge, r, found[1]) : edge.replyErr(r.id, ERRNO.ENODATA);
        })();
      default:
        throw readOnly();
    }
  }
}
